// One training step of a 10-layer VGG-style conv net (conv-bn-act preset: 3×3 conv → BatchNorm2d → ReLU at
// 32 channels on 28×28×1 images, global average pooling, a dense head), batch 64, SGD, MSE, on signalprop's
// default backend (blas: oneDNN's direct convolution where the addon has it, else im2col + sgemm) against
// PyTorch CPU (Debian's python3-torch, bench/conv_torch.py) doing the same step, in alternating rounds of one
// run, at one thread and at every core. Prints medians and ratios. Usage: npx tsx bench/conv.ts [reps] [rounds]
import os from 'node:os';
import type { SpecInput } from '../src/network/index.js';
import { alternatingRounds, backendLine, median, roundSummaries, saveSummary, torchPeer, trainerSteps } from './common.js';

const reps = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const depth = 10;
const channels = 32;
const image = 28;
const inChannels = 1;
const batch = 64;
const lr = 0.01;

const loadStart = os.loadavg()[0];
process.stderr.write(
  `bench/conv: conv-bn-act depth ${depth}, ${channels} channels, ${image}×${image}×${inChannels}, batch ${batch}; ${rounds} rounds of ${reps} steps after 2 warm-up steps\n`,
);
const spec: SpecInput = { order: 'conv-bn-act', depth, width: channels, batch, image: [image, image, inChannels], activation: 'relu' };
const { rows, peer } = await alternatingRounds(
  rounds,
  (threads) => trainerSteps(spec, { reps, lr, threads }),
  (threads) => torchPeer('conv_torch.py', { depth, channels, image, in_channels: inChannels, batch, reps, threads, lr }),
);
console.log(`signalprop default backend: ${await backendLine()}`);
for (const r of rows) {
  if (!r.ours.length) continue;
  console.log(
    `${r.threads} thread(s): signalprop ${median(r.ours).toFixed(1)} ms/step, ${peer} ${median(r.torch).toFixed(1)} ms/step (checked ${median(r.checked).toFixed(1)}); ratio (median of rounds) ${median(r.ratio).toFixed(2)}x`,
  );
}
// for bench/summary.ts (the README's speed table)
const what = `conv training step, conv-bn-act depth ${depth}, ${channels} channels, ${image}×${image}, B ${batch}`;
saveSummary('conv', roundSummaries(rows, what, peer), loadStart);
