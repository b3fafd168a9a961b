/**
 * @file Which build files are onnxruntime-web's runtime (src/offline/runtime-files.ts): the service worker caches
 * them by kind, so a kind must ignore the hash and tell the two builds and their WASM and loader apart.
 */
import { describe, expect, it } from 'vitest';
import { runtimeFileKind } from '../../../src/offline/runtime-files.ts';

const ORIGIN = 'http://127.0.0.1:4173';

describe('runtimeFileKind', () => {
  it.each([
    ['/assets/ort-wasm-simd-threaded-4byDm7i3.wasm', 'ort-wasm-simd-threaded.wasm'],
    ['/assets/ort-wasm-simd-threaded-BQJNh0bu.mjs', 'ort-wasm-simd-threaded.mjs'],
    ['/assets/ort-wasm-simd-threaded.asyncify-CxOG5pUO.wasm', 'ort-wasm-simd-threaded.asyncify.wasm'],
    ['/assets/ort-wasm-simd-threaded.asyncify-DXIbolS2.mjs', 'ort-wasm-simd-threaded.asyncify.mjs'],
    // A hash may hold "-" and "_"; the app under a sub-path.
    ['/app/assets/ort-wasm-simd-threaded-a-_b1c2d.wasm', 'ort-wasm-simd-threaded.wasm'],
    ['/assets/ort-wasm-simd-threaded.asyncify-a_b-c1d2.mjs', 'ort-wasm-simd-threaded.asyncify.mjs'],
  ])('%s is %s', (path, kind) => {
    expect(runtimeFileKind(`${ORIGIN}${path}`)).toBe(kind);
  });

  it('gives the same kind to two builds of one file and different kinds to the two builds', () => {
    const kinds = [
      '/assets/ort-wasm-simd-threaded-4byDm7i3.wasm',
      '/assets/ort-wasm-simd-threaded-Zz9_Yy8-.wasm',
      '/assets/ort-wasm-simd-threaded.asyncify-CxOG5pUO.wasm',
    ].map((path) => runtimeFileKind(`${ORIGIN}${path}`));
    expect(kinds[0]).toBe(kinds[1]);
    expect(kinds[0]).not.toBe(kinds[2]);
  });

  it.each([
    ['another asset', `${ORIGIN}/assets/index-DQQFka8_.js`],
    ['tfjs WASM', `${ORIGIN}/assets/tfjs-backend-wasm-simd-BrM3BlWr.wasm`],
    ['no hash', `${ORIGIN}/assets/ort-wasm-simd-threaded.wasm`],
    ['a short hash', `${ORIGIN}/assets/ort-wasm-simd-threaded-4byDm7.wasm`],
    ['another extension', `${ORIGIN}/assets/ort-wasm-simd-threaded-4byDm7i3.js`],
    ['a model file', `${ORIGIN}/models/fixtures/tiny-bert/onnx/model.onnx`],
    ['not a URL', 'ort-wasm-simd-threaded-4byDm7i3.wasm'],
  ])('%s is not a runtime file', (_what, href) => {
    expect(runtimeFileKind(href)).toBeUndefined();
  });
});
