// A saved tfjs LayersModel from disk: model.json (the topology and its weights manifest) and the weight files
// it names, as tf.io saves them (model.save('file://…') with tfjs-node, or the JSON + binary a browser
// downloads). Pure @tensorflow/tfjs has no file:// handler in Node, so the files are read with node:fs and
// handed to tf.loadLayersModel through tf.io.fromMemory. Bad files are InputErrors naming the file (exit 2).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../io/files.js';
import { InputError } from '../network/index.js';

/** A model file that cannot be read, parsed or loaded: the file, what is wrong, what was expected. */
export class ModelFileError extends InputError {
  constructor(file: string, problem: string, expected: string) {
    super(file, undefined, expected, `${file}: ${problem}; expected ${expected}`);
    this.name = 'ModelFileError';
  }
}

const EXPECTED = 'a tfjs layers model.json (modelTopology and weightsManifest, as tf.io saves it)';

/** Read model.json and its weight files into tf.io model artifacts, checking each piece. */
export function readModelArtifacts(path: string): tf.io.ModelArtifacts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ModelFileError(path, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, EXPECTED);
  }
  let json: any;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    throw new ModelFileError(path, `not valid JSON (${(e as Error).message})`, EXPECTED);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ModelFileError(path, 'not a JSON object', EXPECTED);
  if (json.modelTopology == null || typeof json.modelTopology !== 'object')
    throw new ModelFileError(path, 'no modelTopology field', EXPECTED);
  if (!Array.isArray(json.weightsManifest))
    throw new ModelFileError(path, 'no weightsManifest field (an array of {paths, weights})', EXPECTED);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  const dir = dirname(resolve(path));
  json.weightsManifest.forEach((g: any, i: number) => {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights))
      throw new ModelFileError(path, `weightsManifest[${i}] has no paths or weights array`, EXPECTED);
    for (const p of g.paths) {
      if (typeof p !== 'string') throw new ModelFileError(path, `weightsManifest[${i}].paths holds ${JSON.stringify(p)}`, 'file names');
      const file = join(dir, p);
      try {
        buffers.push(readFileSync(file));
      } catch (e) {
        throw new ModelFileError(
          file,
          `the weights file ${JSON.stringify(p)} that ${path} names cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          'the weight files beside model.json, as tf.io saved them',
        );
      }
    }
    specs.push(...g.weights);
  });
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) {
    data.set(b, o);
    o += b.byteLength;
  }
  // the bytes the manifest's weights need, where it says (float32 and int32 unquantized: 4 bytes an entry)
  const plain = specs.every((w: any) => w && Array.isArray(w.shape) && (w.dtype === 'float32' || w.dtype === 'int32') && !w.quantization);
  const need = plain ? specs.reduce((a, w) => a + w.shape.reduce((x: number, y: number) => x * y, 1) * 4, 0) : total;
  if (need !== total)
    throw new ModelFileError(
      path,
      `its weights manifest needs ${need} bytes, the weight files hold ${total}`,
      'weight files that match the manifest',
    );
  return {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: data.buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
  };
}

/** Load a saved tfjs LayersModel (model.json and its weight files). */
export async function loadModel(path: string): Promise<tf.LayersModel> {
  const artifacts = readModelArtifacts(path);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new ModelFileError(path, `tfjs cannot build the model (${(e as Error).message.split('\n')[0]})`, EXPECTED);
  }
}

/**
 * Save a LayersModel as tf.io's file layout: `<dir>/model.json` and `<dir>/weights.bin` (each written to a
 * temp file, then renamed). Returns the model.json path.
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  const path = join(dir, 'model.json');
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData;
      const bytes =
        data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(tf.io.concatenateArrayBuffers(data as ArrayBuffer[]));
      writeFileAtomic(join(dir, 'weights.bin'), bytes);
      const json = {
        modelTopology: a.modelTopology,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      writeFileAtomic(path, JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path;
}
