/**
 * @file What the core's `runExperiment` needs, implemented for Node: encoders loaded from model folders with
 * onnxruntime-node, the tfjs head trainer on the WASM backend (cpu when it cannot start), and dataset files read
 * relative to the experiment.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunDependencies } from '../lib/core/experiment/orchestrator.ts';
import type { CausalScorer, Dtype, Encoder } from '../lib/core/ports.ts';
import { createHeadTrainer } from '../lib/ml/tfjs-head.ts';
import { ONNX_FILE_BY_DTYPE } from '../lib/core/models/files.ts';
import { createLayerTrainer } from '../lib/ml/unfreeze/layer-trainer.ts';
import { loadCausalScorer, loadEncoder } from '../lib/ml/transformers-adapter.ts';
import { DatasetError } from '../lib/core/errors.ts';
import { checkFileSize, MAX_FILE_BYTES } from '../lib/core/dataset/limits.ts';
import { NotRegularFileError, readBoundedFile } from './bounded-read.ts';
import { resolveModelFolder } from './model-folder.ts';

/** A dataset file the experiment names that does not exist or cannot be read. */
export class DatasetFileError extends Error {
  override readonly name = 'DatasetFileError';
  readonly path: string;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

export interface NodeDependencyOptions {
  /** Absolute path of the experiment file: dataset and model paths are relative to its folder. */
  experimentFile: string;
  /** Repository root holding `models/` and `tests/fixtures/models/`. */
  projectRoot: string;
  dtype: Dtype;
  onProgress(message: string): void;
  /** Cancels the run (Ctrl-C). */
  signal?: AbortSignal;
}

/** {@link RunDependencies} for Node plus `dispose`, which releases every encoder that was loaded. */
export interface NodeDependencies extends RunDependencies {
  dispose(): Promise<void>;
}

/** Builds the Node implementations; each model is loaded once however many prompts and heads use it. */
export function createNodeDependencies(options: NodeDependencyOptions): NodeDependencies {
  const experimentDir = dirname(options.experimentFile);
  const encoders = new Map<string, Promise<Encoder>>();
  const scorers = new Map<string, Promise<CausalScorer>>();

  async function loadScorer(model: string): Promise<CausalScorer> {
    const folder = resolveModelFolder(model, experimentDir, options.projectRoot);
    const started = performance.now();
    const scorer = await loadCausalScorer(
      { kind: 'folder', path: folder },
      { device: 'cpu', dtype: options.dtype },
    );
    options.onProgress(
      `Loaded language model ${folder} (cpu, ${options.dtype}) in ${Math.round(performance.now() - started)} ms: ` +
        `up to ${scorer.maxTokens} tokens`,
    );
    return scorer;
  }

  async function load(model: string): Promise<Encoder> {
    const folder = resolveModelFolder(model, experimentDir, options.projectRoot);
    const started = performance.now();
    const encoder = await loadEncoder(
      { kind: 'folder', path: folder },
      { device: 'cpu', dtype: options.dtype },
    );
    options.onProgress(
      `Loaded ${folder} (cpu, ${options.dtype}) in ${Math.round(performance.now() - started)} ms: ` +
        `${encoder.dimension} dimensions, ${encoder.numLayers} layers, up to ${encoder.maxTokens} tokens`,
    );
    return encoder;
  }

  return {
    encoder(model) {
      let encoder = encoders.get(model);
      if (!encoder) {
        encoder = load(model);
        encoders.set(model, encoder);
      }
      return encoder;
    },
    scorer(model) {
      let scorer = scorers.get(model);
      if (!scorer) {
        scorer = loadScorer(model);
        scorers.set(model, scorer);
      }
      return scorer;
    },
    // tfjs's WASM backend, as in the browser: ~5× faster than its plain-JS cpu one on a hidden layer, the same
    // numbers as the browser's; cpu with a one-line notice when WASM cannot start.
    trainer: createHeadTrainer({
      backend: 'wasm',
      fallback: { backend: 'cpu', onFallback: (message) => options.onProgress(message) },
    }),
    // Unfrozen layers are rebuilt from the same ONNX file the encoder runs (the orchestrator refuses q8 first).
    layerTrainer: createLayerTrainer({
      // The layers' matrix products are ~10× faster on tfjs's WASM backend than on its plain-JS cpu one.
      backend: 'wasm',
      modelBytes: (model) =>
        readFile(
          join(
            resolveModelFolder(model, experimentDir, options.projectRoot),
            ONNX_FILE_BY_DTYPE[options.dtype],
          ),
        ),
    }),
    async readDatasetFile(path) {
      const fullPath = resolve(experimentDir, path);
      try {
        // Bytes, not text: the core decodes them, so a non-UTF-8 or binary file gets the same message as in the app.
        // The browser's limit, checked before reading; devices such as /dev/zero are refused unread.
        return await readBoundedFile(fullPath, MAX_FILE_BYTES, (size) =>
          checkFileSize(size, basename(fullPath)),
        );
      } catch (error) {
        if (error instanceof DatasetError) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === 'ENOENT'
            ? 'not found'
            : code === 'EISDIR' || (error instanceof NotRegularFileError && error.kind === 'folder')
              ? 'is a folder, not a file'
              : error instanceof NotRegularFileError
                ? 'is not a regular file (a device, pipe or socket)'
                : (error as Error).message;
        throw new DatasetFileError(
          fullPath,
          `dataset file ${fullPath} ${reason} ("dataset.path" is relative to the experiment file's folder, ` +
            `${experimentDir}).`,
        );
      }
    },
    now: () => performance.now(),
    onProgress: options.onProgress,
    ...(options.signal ? { signal: options.signal } : {}),
    async dispose() {
      const loaded = await Promise.allSettled([...encoders.values(), ...scorers.values()]);
      encoders.clear();
      scorers.clear();
      await Promise.all(
        loaded.map((result) => (result.status === 'fulfilled' ? result.value.dispose() : undefined)),
      );
    },
  };
}
