// signalprop network: the layer list a spec describes (a preset's expansion, or a --layers file checked),
// as one line per run of equal blocks or as JSON; nothing is computed.
import type { Command } from 'commander';
import { blocksOf, describeLayers, layersOf, layersToJSON, PRESET_NAMES, PRESETS, specToJSON } from '../../network/index.js';
import { addSpecFlags, specFromFlags } from '../specFlags.js';

export function register(program: Command): void {
  const cmd = program
    .command('network')
    .description(
      'The layer list of a spec: what a preset (--order, --residual) expands to, or a --layers file validated. Presets: ' +
        PRESET_NAMES.map((p) => `${p} = ${PRESETS[p].doc}`).join('; '),
    );
  addSpecFlags(cmd)
    .option('--json', 'print { spec, layers } as JSON (layers: the list a --layers file takes)')
    .action((opts: Record<string, any>) => {
      const spec = specFromFlags(opts);
      const layers = layersOf(spec);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ spec: specToJSON(spec), layers: layersToJSON(layers) }, null, 2)}\n`);
        return;
      }
      const blocks = blocksOf(layers).length;
      process.stdout.write(
        `${spec.order}: input ${spec.inputDim}, ${blocks} block${blocks === 1 ? '' : 's'}, batch ${spec.batch ?? '∞'}\n${describeLayers(layers)}\n`,
      );
    });
}
