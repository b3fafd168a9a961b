/**
 * @file The files of a model folder in Hugging Face hub layout, as transformers.js reads them: the one place that
 * says which ONNX file holds which precision and which files a load needs.
 */
import type { Dtype } from '../ports.ts';

/** Every dtype a model folder may offer, in the order the UI lists them. */
export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8'];

/** The ONNX file transformers.js reads for each dtype (`onnx/model{suffix}.onnx`). */
export const ONNX_FILE_BY_DTYPE: Readonly<Record<Dtype, string>> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  q8: 'onnx/model_quantized.onnx',
};

/** Files a model folder must hold to load with `dtype`, relative to the folder. */
export function requiredModelFiles(dtype: Dtype): string[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_FILE_BY_DTYPE[dtype]];
}

/** One file of a hub model, e.g. to look up in the browser cache that hub downloads go to. */
export interface HubFile {
  id: string;
  revision: string;
  /** Path inside the model folder, e.g. 'onnx/model_quantized.onnx'. */
  path: string;
}

/** A hub file found in the browser cache, with its stored size. */
export interface CachedHubFile extends HubFile {
  bytes: number;
}
