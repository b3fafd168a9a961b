/**
 * @file The in-memory model trick (src/lib/ml/in-memory-model.ts) against a stand-in for transformers.js' `env`:
 * the in-memory file is answered from memory without a copy, every other request reaches the cache that was there
 * before, and the host gets its own settings back once the last model is released.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryModels, type CacheHost, type ModelFileCache } from '../../../src/lib/ml/in-memory-model.ts';

/** A cache that records what it was asked and answers every request with its name. */
function recordingCache(): ModelFileCache & { asked: string[]; stored: string[] } {
  const asked: string[] = [];
  const stored: string[] = [];
  return {
    asked,
    stored,
    match: (request) => {
      asked.push(request);
      return Promise.resolve(`from the previous cache: ${request}`);
    },
    put: (request) => {
      stored.push(request);
      return Promise.resolve();
    },
  };
}

function host(customCache: ModelFileCache | null = null): CacheHost {
  return {
    useCustomCache: customCache !== null,
    customCache,
    useBrowserCache: false,
    cacheKey: 'test-cache',
  };
}

describe('InMemoryModels', () => {
  it('serves the bytes under the name transformers.js asks for, without copying them', async () => {
    const env = host();
    const models = new InMemoryModels(env);
    const bytes = Uint8Array.from([8, 1, 18, 4]);
    const served = models.serve(bytes, 'q8');
    expect(served.stem).toMatch(/^model\.hidden-states-\d+$/);
    expect(env.useCustomCache).toBe(true);
    const answer = await env.customCache?.match(`/models/x/onnx/${served.stem}_quantized.onnx`);
    expect(answer).toBeInstanceOf(Response);
    const body = await (answer as Response).arrayBuffer();
    expect(body).toBe(bytes.buffer);
    expect((answer as Response).headers.get('content-length')).toBe('4');
    served.release();
  });

  it('passes every other request to the cache that was installed before, and restores it at the end', async () => {
    const previous = recordingCache();
    const env = host(previous);
    const models = new InMemoryModels(env);
    const first = models.serve(new Uint8Array(2), 'fp32');
    const second = models.serve(new Uint8Array(3), 'fp16');
    expect(first.stem).not.toBe(second.stem);
    await expect(env.customCache?.match('/models/x/config.json')).resolves.toBe(
      'from the previous cache: /models/x/config.json',
    );
    await env.customCache?.put('/models/x/tokenizer.json', new Response('{}'));
    expect(previous.asked).toEqual(['/models/x/config.json']);
    expect(previous.stored).toEqual(['/models/x/tokenizer.json']);

    first.release();
    expect(models.size).toBe(1);
    expect(env.customCache).not.toBe(previous);
    second.release();
    expect(models.size).toBe(0);
    expect(env.customCache).toBe(previous);
    expect(env.useCustomCache).toBe(true);
  });

  it('forgets released bytes, and leaves alone a cache someone else installed meanwhile', async () => {
    const env = host();
    const models = new InMemoryModels(env);
    const served = models.serve(new Uint8Array(1), 'fp32');
    const ours = env.customCache;
    const theirs = recordingCache();
    env.customCache = theirs;
    served.release();
    served.release();
    expect(env.customCache).toBe(theirs);
    await expect(ours?.match(`/m/onnx/${served.stem}.onnx`)).resolves.toBeUndefined();
  });
});
