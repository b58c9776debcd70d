// The last step of `npm run bench`: the README's speed table, in markdown, from the summaries that
// bench/sample.ts, bench/train.ts and bench/conv.ts leave in summaryDir()
// ($TMPDIR/signalprop-bench). Every row is one bench's median beside its peer's, measured in the same run, and
// their ratio; under the table, the conditions of each bench's run (date, CPU, cores, BLAS library and
// OpenBLAS kernel, load average at its start and end). A bench that has not run (or whose peer failed) has
// no row; rows older than --max-age hours (default 24) are left out with a note.
// Usage: npx tsx bench/summary.ts [--max-age hours]
import { readSummaries, summaryDir } from './common.js';

const ai = process.argv.indexOf('--max-age');
const maxAgeH = ai >= 0 ? Number(process.argv[ai + 1]) : 24;
// the README's order: training first, then sampling, conv, and any other bench
const ORDER = ['train', 'sample', 'conv'];
const rank = (b: string) => (ORDER.includes(b) ? ORDER.indexOf(b) : ORDER.length);
const all = readSummaries().sort((a, b) => rank(a.bench) - rank(b.bench));
const fresh = all.filter((s) => Date.now() - Date.parse(s.conditions.date) <= maxAgeH * 3600_000);
const stale = all.filter((s) => !fresh.includes(s));
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

if (!fresh.length) {
  console.log(`bench/summary: no bench summaries younger than ${maxAgeH} h in ${summaryDir()}; run npm run bench`);
} else {
  const lines = ['| what | threads | signalprop | peer, same run | ratio signalprop / peer | run |', '|---|---|---|---|---|---|'];
  for (const [i, s] of fresh.entries())
    for (const r of [...s.rows].sort((a, b) => a.threads - b.threads))
      lines.push(
        `| ${r.what} | ${r.threads} | ${ms(r.oursMs)} ms | ${r.peer}: ${ms(r.peerMs)} ms | ${r.ratio.toFixed(2)}×${r.ratioRange ? ` (rounds ${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})` : ''} | ${String.fromCharCode(97 + i)} |`,
      );
  lines.push('');
  for (const [i, s] of fresh.entries()) {
    const c = s.conditions;
    lines.push(
      `${String.fromCharCode(97 + i)}. \`bench/${s.bench}.ts\`, ${c.date.slice(0, 16).replace('T', ' ')} UTC (its end): ${c.cpu}, ${c.cores} cores, ${c.blas}; load average ${c.loadStart.toFixed(1)} → ${c.loadEnd.toFixed(1)}; Node ${c.node}.`,
    );
  }
  console.log(`\n${lines.join('\n')}`);
}
for (const s of stale) console.log(`(left out: bench/${s.bench}.ts from ${s.conditions.date}, older than ${maxAgeH} h)`);
