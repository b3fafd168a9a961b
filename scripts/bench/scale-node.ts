/**
 * @file One point of the bench's Node scaling table, in a process of its own so its peak memory is its own:
 * `tsx scripts/bench/scale-node.ts <model folder> <mean|sentence> <texts>` loads the model, embeds that many
 * mixed-length e-mails with the product's Encoder and prints one JSON line: `{ ms, peakRssBytes, baseRssBytes }` (resident memory sampled while embedding, and
 * just before).
 */
import { loadEncoder } from '../../src/lib/ml/transformers-adapter.ts';
import { withPeakMemory } from './measure.ts';
import { benchTexts } from './texts.ts';

const [folder, pooling, count] = process.argv.slice(2);
if (folder === undefined || (pooling !== 'mean' && pooling !== 'sentence') || !(Number(count) > 0)) {
  console.error('usage: tsx scripts/bench/scale-node.ts <model folder> <mean|sentence> <texts>');
  process.exit(2);
}
const { texts } = benchTexts('spam-assassin', Number(count));
const encoder = await loadEncoder({ kind: 'folder', path: folder }, { device: 'cpu', dtype: 'fp32' });
await encoder.embed(['warm up'], { layer: -1, pooling });
const baseRssBytes = process.memoryUsage.rss();
const measured = await withPeakMemory(() => encoder.embed(texts, { layer: -1, pooling }));
await encoder.dispose();
console.log(
  JSON.stringify({
    ms: measured.ms,
    peakRssBytes: measured.peakRssBytes,
    baseRssBytes,
  }),
);
