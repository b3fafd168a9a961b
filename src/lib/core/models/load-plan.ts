/**
 * @file Which device and dtype a model load actually uses, and why: the pure decisions behind the model worker,
 * kept apart from it so they can be tested in Node and shown by the UI before a load ("Will run on …"). Every
 * departure from what the user asked for comes back as a notice the UI shows, so the app never silently runs
 * something else. Also the size and memory checks a load makes, and its out-of-memory message.
 */
import { formatBytes, formatBytesOverLimit } from '../format.ts';
import type { Device, Dtype } from '../ports.ts';
import { DTYPES, ONNX_FILE_BY_DTYPE } from './files.ts';

/** The devices a load in the browser can end up on. */
export type BrowserDevice = Exclude<Device, 'cpu'>;
/** What the user may ask for; 'auto' means WebGPU when an adapter exists, otherwise WASM. */
export type DeviceChoice = 'auto' | BrowserDevice;
/** What the user may ask for; 'auto' means the right precision for the device among the files present. */
export type DtypeChoice = 'auto' | Dtype;

/** Allowed device choices, in the order the UI offers them. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'wasm', 'webgpu'];
/** Allowed dtype choices, in the order the UI offers them. */
export const DTYPE_CHOICES: readonly DtypeChoice[] = ['auto', ...DTYPES];

/** What `navigator.gpu.requestAdapter()` gave in the model worker. */
export type GpuProbe =
  | {
      available: true;
      /** A software adapter (e.g. SwiftShader): works, but slower than WASM. */
      fallbackAdapter: boolean;
      /** Vendor and architecture, e.g. "google swiftshader". */
      description: string;
    }
  | { available: false; reason: string };

/** The device and dtype to load with, and what to tell the user about how they were chosen. */
export interface LoadPlan {
  device: BrowserDevice;
  dtype: Dtype;
  notices: string[];
}

/** Quantized weights have given silently wrong outputs on WebGPU, so WebGPU loads only these. */
const WEBGPU_DTYPES: readonly Dtype[] = ['fp32', 'fp16'];
/** WASM: q8 first (4× smaller, fast on CPU, transformers.js' own default), then full precision. */
const WASM_DTYPE_PREFERENCE: readonly Dtype[] = ['q8', 'fp32', 'fp16'];

/** Picks the device for `choice` given what WebGPU offers here. */
export function planDevice(
  choice: DeviceChoice,
  gpu: GpuProbe,
): { device: BrowserDevice; notices: string[] } {
  if (choice === 'wasm') return { device: 'wasm', notices: [] };
  if (!gpu.available) {
    const notice =
      choice === 'webgpu'
        ? `WebGPU was requested, but ${gpu.reason}. Running on WASM instead.`
        : `WebGPU is not available: ${gpu.reason}. Running on WASM.`;
    return { device: 'wasm', notices: [notice] };
  }
  if (gpu.fallbackAdapter) {
    if (choice === 'auto') {
      return {
        device: 'wasm',
        notices: [
          `The only WebGPU adapter here is a software one (${gpu.description}), which is slower than WASM: ` +
            'running on WASM. Choose "webgpu" to use it anyway.',
        ],
      };
    }
    return {
      device: 'webgpu',
      notices: [`Running on a software WebGPU adapter (${gpu.description}): expect it to be slow.`],
    };
  }
  return { device: 'webgpu', notices: [] };
}

function describeDtype(dtype: Dtype): string {
  return `${dtype} (${ONNX_FILE_BY_DTYPE[dtype]})`;
}

/**
 * Picks the dtype for `device` among `available` (the dtypes whose ONNX file the model has; empty = unknown, then
 * the request or the device default is tried and a missing file is reported by the loader). Never puts q8 on
 * WebGPU: full-precision weights are used instead, or the load moves to WASM when q8 is all there is. `preferred`
 * (the catalog's `defaultDtype` for the model, chosen by measurement) replaces the usual q8 of "auto" on WASM.
 */
export function planDtype(
  device: BrowserDevice,
  choice: DtypeChoice,
  available: readonly Dtype[],
  preferred?: Dtype,
): LoadPlan {
  const has = (dtype: Dtype) => available.length === 0 || available.includes(dtype);
  if (device === 'webgpu') {
    const gpuDtypes = WEBGPU_DTYPES.filter(has);
    if (choice === 'auto' || choice === 'fp32' || choice === 'fp16') {
      const wanted = choice === 'auto' ? 'fp32' : choice;
      if (has(wanted)) return { device, dtype: wanted, notices: [] };
      const other = gpuDtypes[0];
      if (other) {
        const notice =
          choice === 'auto'
            ? `Using ${describeDtype(other)} on WebGPU: the model has no fp32 weights.`
            : `The model has no ${describeDtype(wanted)}; using ${describeDtype(other)} instead.`;
        return { device, dtype: other, notices: [notice] };
      }
    } else if (gpuDtypes[0]) {
      return {
        device,
        dtype: gpuDtypes[0],
        notices: [
          `Quantized (q8) weights have given silently wrong results on WebGPU, so ${describeDtype(gpuDtypes[0])} ` +
            'is used instead. Choose WASM to run q8.',
        ],
      };
    }
    // Only quantized weights exist: run them where they are known to be right.
    const wasmPlan = planDtype('wasm', 'q8', available);
    return {
      ...wasmPlan,
      notices: [
        'The model only has quantized (q8) weights, which have given silently wrong results on WebGPU: ' +
          'running on WASM instead.',
        ...wasmPlan.notices,
      ],
    };
  }
  if (choice !== 'auto' && has(choice)) return { device, dtype: choice, notices: [] };
  if (choice === 'auto' && preferred !== undefined && has(preferred)) return { device, dtype: preferred, notices: [] };
  const fallback = WASM_DTYPE_PREFERENCE.find(has) ?? 'fp32';
  if (choice === 'auto') {
    const notices =
      fallback === 'q8'
        ? []
        : [
            `The model has no ${describeDtype('q8')}, the usual choice on WASM; using ${describeDtype(fallback)}.`,
          ];
    return { device, dtype: fallback, notices };
  }
  return {
    device,
    dtype: fallback,
    notices: [`The model has no ${describeDtype(choice)}; using ${describeDtype(fallback)} instead.`],
  };
}

/** Device first (from the adapter), then the dtype that is right for it among the files present. */
export function planLoad(
  deviceChoice: DeviceChoice,
  dtypeChoice: DtypeChoice,
  gpu: GpuProbe,
  available: readonly Dtype[],
  preferred?: Dtype,
): LoadPlan {
  const device = planDevice(deviceChoice, gpu);
  const dtype = planDtype(device.device, dtypeChoice, available, preferred);
  return { device: dtype.device, dtype: dtype.dtype, notices: [...device.notices, ...dtype.notices] };
}

/** A single ONNX protobuf cannot exceed 2 GiB, and WASM (32-bit) addresses 4 GiB in all. */
export const MAX_ONNX_FILE_BYTES = 2 ** 31;
/**
 * Loading needs the file bytes, the copy with hidden-state outputs and the session's own copy at once, so peak
 * memory is a few times the file size.
 */
const LOAD_MEMORY_FACTOR = 3;

/**
 * Checks an ONNX file's size against hard limits and the memory the device reports (`navigator.deviceMemory`,
 * in GB, rounded and capped by the browser; undefined when unknown). Returns an error message when the load cannot
 * work, a warning when it may not, or nothing.
 */
export function checkModelSize(
  file: string,
  bytes: number,
  deviceMemoryGb: number | undefined,
): { error: string } | { warning: string } | undefined {
  if (bytes > MAX_ONNX_FILE_BYTES) {
    return {
      error:
        `${file} is ${formatBytesOverLimit(bytes, MAX_ONNX_FILE_BYTES)}: a single ONNX file over ${formatBytes(MAX_ONNX_FILE_BYTES)} cannot be ` +
        'loaded in the browser. Choose a smaller precision (q8 or fp16) or a smaller model.',
    };
  }
  if (deviceMemoryGb !== undefined && bytes * LOAD_MEMORY_FACTOR > deviceMemoryGb * 1e9 * 0.5) {
    return {
      warning:
        `${file} is ${formatBytes(bytes)} and loading it needs about ${formatBytes(bytes * LOAD_MEMORY_FACTOR)}, ` +
        `while this device reports about ${deviceMemoryGb} GB of memory: the load may fail or slow the machine ` +
        'down. A smaller precision (q8) or model is safer.',
    };
  }
  return undefined;
}

/** Messages of the errors browsers, WASM and onnxruntime raise when memory runs out. */
const OUT_OF_MEMORY =
  /array buffer allocation failed|out of memory|\boom\b|failed to allocate|cannot allocate|could not allocate|allocation failed|webassembly\.memory\(\): could not/i;

/** True when `message` reads like an allocation failure rather than a broken file. */
export function isOutOfMemory(message: string): boolean {
  return OUT_OF_MEMORY.test(message);
}

/** The message for a load that ran out of memory, naming the file and what to do. */
export function outOfMemoryMessage(
  modelId: string,
  file: string,
  bytes: number | undefined,
  device: BrowserDevice,
  cause: string,
): string {
  const size = bytes === undefined ? '' : ` (${formatBytes(bytes)})`;
  return (
    `Ran out of memory loading ${modelId}: ${file}${size} on ${device}. Close other tabs or programs, or choose a ` +
    `smaller precision (q8) or a smaller model, then load again. The previous model stays loaded. (${cause})`
  );
}
