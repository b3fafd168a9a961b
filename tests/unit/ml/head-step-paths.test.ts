import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectStepMatchesReference, STEP_CASES } from './head-step-reference.ts';

/**
 * The WASM backend (the browser's and the CLI's) runs the step's products in another layout than the cpu backend
 * would pick, through XNNPACK, with its fused ReLU: the same comparison as head-step.test.ts's, on that backend.
 */
beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('hand-written head step on the WASM backend', () => {
  it('runs on WASM', () => {
    expect(tf.getBackend()).toBe('wasm');
  });

  it.each(STEP_CASES)(
    '$name: step logits and weights after AdamW equal tf.train.adam on the tape-differentiated loss',
    (testCase) => expectStepMatchesReference(testCase),
  );
});
