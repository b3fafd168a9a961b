/**
 * @file Device and dtype decisions of the model worker (src/lib/core/models/load-plan.ts): WebGPU only with a real
 * adapter, never q8 on WebGPU, the dtype that exists in the folder, and a notice for every departure.
 */
import { describe, expect, test } from 'vitest';
import {
  checkModelSize,
  isOutOfMemory,
  MAX_ONNX_FILE_BYTES,
  outOfMemoryMessage,
  planDevice,
  planDtype,
  planLoad,
  type GpuProbe,
} from '../../../src/lib/core/models/load-plan.ts';

const HARDWARE: GpuProbe = { available: true, fallbackAdapter: false, description: 'nvidia ampere' };
const SOFTWARE: GpuProbe = { available: true, fallbackAdapter: true, description: 'google swiftshader' };
const NONE: GpuProbe = { available: false, reason: 'no WebGPU adapter was found' };

describe('planDevice', () => {
  test('auto takes a hardware WebGPU adapter without comment', () => {
    expect(planDevice('auto', HARDWARE)).toEqual({ device: 'webgpu', notices: [] });
  });

  test('auto without an adapter runs WASM and says why', () => {
    const plan = planDevice('auto', NONE);
    expect(plan.device).toBe('wasm');
    expect(plan.notices).toEqual([expect.stringContaining('no WebGPU adapter was found')]);
  });

  test('auto prefers WASM over a software adapter, naming it; an explicit choice uses it with a warning', () => {
    const auto = planDevice('auto', SOFTWARE);
    expect(auto.device).toBe('wasm');
    expect(auto.notices.join(' ')).toContain('google swiftshader');
    const forced = planDevice('webgpu', SOFTWARE);
    expect(forced.device).toBe('webgpu');
    expect(forced.notices.join(' ')).toMatch(/software WebGPU adapter/);
  });

  test('an explicit WebGPU request without an adapter falls back to WASM with the reason', () => {
    const plan = planDevice('webgpu', NONE);
    expect(plan.device).toBe('wasm');
    expect(plan.notices[0]).toMatch(/WebGPU was requested, but no WebGPU adapter was found.*WASM/);
  });

  test('wasm is taken as asked, silently', () => {
    expect(planDevice('wasm', HARDWARE)).toEqual({ device: 'wasm', notices: [] });
  });
});

describe('planDtype', () => {
  test('WebGPU defaults to fp32 and never runs q8', () => {
    expect(planDtype('webgpu', 'auto', ['fp32', 'q8', 'fp16'])).toEqual({
      device: 'webgpu',
      dtype: 'fp32',
      notices: [],
    });
    const q8 = planDtype('webgpu', 'q8', ['fp32', 'q8']);
    expect(q8.device).toBe('webgpu');
    expect(q8.dtype).toBe('fp32');
    expect(q8.notices[0]).toMatch(/silently wrong results on WebGPU.*fp32 \(onnx\/model\.onnx\)/);
  });

  test('WebGPU uses fp16 when fp32 is missing, and moves a q8-only model to WASM', () => {
    expect(planDtype('webgpu', 'auto', ['fp16', 'q8']).dtype).toBe('fp16');
    const q8Only = planDtype('webgpu', 'auto', ['q8']);
    expect(q8Only).toMatchObject({ device: 'wasm', dtype: 'q8' });
    expect(q8Only.notices[0]).toMatch(/only has quantized \(q8\) weights.*WASM/);
  });

  test('WASM defaults to q8 when present, else says what it uses instead', () => {
    expect(planDtype('wasm', 'auto', ['fp32', 'q8'])).toEqual({ device: 'wasm', dtype: 'q8', notices: [] });
    const fixture = planDtype('wasm', 'auto', ['fp32']);
    expect(fixture.dtype).toBe('fp32');
    expect(fixture.notices[0]).toContain('onnx/model_quantized.onnx');
  });

  test("the catalog's default replaces q8 for 'auto' on WASM, never an explicit choice nor WebGPU's rule", () => {
    expect(planDtype('wasm', 'auto', ['fp32', 'q8'], 'fp32')).toEqual({
      device: 'wasm',
      dtype: 'fp32',
      notices: [],
    });
    expect(planDtype('wasm', 'q8', ['fp32', 'q8'], 'fp32').dtype).toBe('q8');
    expect(planDtype('webgpu', 'auto', ['fp32', 'q8'], 'q8').dtype).toBe('fp32');
    // A default whose file is missing falls back to the usual rule.
    expect(planDtype('wasm', 'auto', ['q8'], 'fp32').dtype).toBe('q8');
    expect(planLoad('wasm', 'auto', NONE, ['fp32', 'q8'], 'fp32').dtype).toBe('fp32');
  });

  test('an explicit dtype that is missing falls back to one that exists, naming both files', () => {
    const plan = planDtype('wasm', 'fp16', ['fp32']);
    expect(plan.dtype).toBe('fp32');
    expect(plan.notices[0]).toBe(
      'The model has no fp16 (onnx/model_fp16.onnx); using fp32 (onnx/model.onnx) instead.',
    );
  });

  test('with unknown files the request stands and the loader names a missing file', () => {
    expect(planDtype('wasm', 'fp16', [])).toEqual({ device: 'wasm', dtype: 'fp16', notices: [] });
    expect(planDtype('webgpu', 'auto', [])).toEqual({ device: 'webgpu', dtype: 'fp32', notices: [] });
  });
});

test('planLoad puts the device notices before the dtype notices', () => {
  const plan = planLoad('webgpu', 'auto', NONE, ['fp32']);
  expect(plan.device).toBe('wasm');
  expect(plan.dtype).toBe('fp32');
  expect(plan.notices).toHaveLength(2);
  expect(plan.notices[0]).toMatch(/WebGPU was requested/);
  expect(plan.notices[1]).toMatch(/no q8/);
});

describe('model size and memory', () => {
  test('refuses a single ONNX file over 2 GiB, naming it', () => {
    const check = checkModelSize('onnx/model.onnx', MAX_ONNX_FILE_BYTES + 1, 8);
    expect(check).toEqual({
      error: expect.stringMatching(
        /^onnx\/model\.onnx is 2,147,483,649 bytes: a single ONNX file over 2\.15 GB .*smaller precision/,
      ),
    });
  });

  test('warns when the load needs more than half the memory the device reports', () => {
    expect(checkModelSize('onnx/model.onnx', 540e6, 2)).toEqual({
      warning: expect.stringContaining('about 2 GB of memory'),
    });
    expect(checkModelSize('onnx/model.onnx', 90e6, 8)).toBeUndefined();
    expect(checkModelSize('onnx/model.onnx', 540e6, undefined)).toBeUndefined();
  });

  test('recognises allocation failures and says what to do', () => {
    expect(isOutOfMemory('RangeError: Array buffer allocation failed')).toBe(true);
    expect(
      isOutOfMemory(
        "Can't create a session. ERROR_CODE: 6, ERROR_MESSAGE: std::bad_alloc failed to allocate",
      ),
    ).toBe(true);
    expect(isOutOfMemory('protobuf parsing failed')).toBe(false);
    const message = outOfMemoryMessage('Xenova/x', 'onnx/model.onnx', 90.4e6, 'wasm', 'Out of memory');
    expect(message).toContain('onnx/model.onnx (90.4 MB) on wasm');
    expect(message).toContain('previous model stays loaded');
  });
});
