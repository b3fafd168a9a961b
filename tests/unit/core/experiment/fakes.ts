/**
 * Deterministic stand-ins for the two runtimes, so the orchestrator can be tested without a model or tfjs:
 * an encoder that counts topic keywords, and a nearest-centroid "head".
 */
import type {
  EmbedOptions,
  Encoder,
  HeadTrainer,
  HeadTrainingOptions,
  SerializedHead,
  TrainedHead,
} from '../../../../src/lib/core/ports.ts';

export const KEYWORDS: Record<string, string[]> = {
  food: [
    'food',
    'recipe',
    'dinner',
    'bake',
    'bread',
    'cake',
    'soup',
    'pizza',
    'pasta',
    'rice',
    'chef',
    'lunch',
  ],
  sports: [
    'sports',
    'team',
    'match',
    'goal',
    'league',
    'coach',
    'fans',
    'player',
    'players',
    'final',
    'tennis',
  ],
  weather: [
    'weather',
    'rain',
    'forecast',
    'sunny',
    'storm',
    'snow',
    'wind',
    'frost',
    'fog',
    'cloudy',
    'thunder',
  ],
};

/** A clock the fakes advance, so every duration in the results is exact and reproducible. */
export class FakeClock {
  time = 0;
  readonly now = (): number => this.time;
}

export interface EmbedCall {
  texts: string[];
  options: EmbedOptions;
}

/**
 * Embeds a text as [count of food words, sports words, weather words, 0.1]; the constant keeps vectors
 * non-zero. Pooling 'cls' halves the keyword counts so different feature settings give different vectors.
 * Each embedded text advances the clock by `msPerText`.
 */
export class KeywordEncoder implements Encoder {
  readonly device = 'cpu' as const;
  readonly dtype = 'fp32' as const;
  readonly dimension = 4;
  readonly numLayers = 2;
  readonly maxTokens = 128;
  readonly calls: EmbedCall[] = [];
  disposed = false;

  constructor(
    readonly modelId: string,
    private readonly clock: FakeClock,
    private readonly msPerText = 10,
    /** Whether the fake claims a sentence embedding of its own (pooling 'sentence', computed like 'mean'). */
    readonly sentenceEmbedding = false,
  ) {}

  async embed(texts: string[], options: EmbedOptions): Promise<Float32Array[]> {
    if (options.pooling === 'sentence' && !this.sentenceEmbedding) {
      throw new RangeError(`${this.modelId} computes no sentence embedding of its own`);
    }
    this.calls.push({ texts: [...texts], options: { ...options } });
    this.clock.time += this.msPerText * texts.length;
    const scale = options.pooling === 'cls' ? 0.5 : 1;
    return texts.map((text) => {
      const words = text.toLowerCase().split(/[^a-z]+/);
      const counts = Object.values(KEYWORDS).map(
        (keywords) => scale * words.filter((word) => keywords.includes(word)).length,
      );
      return Float32Array.from([...counts, 0.1]);
    });
  }

  async countTokens(texts: string[]): Promise<number[]> {
    return texts.map((text) => text.split(/\s+/).length);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** Nearest class centroid, scored by a softmax over negative squared distances. */
class CentroidHead implements TrainedHead {
  disposed = false;

  constructor(
    private readonly centroids: Float32Array[],
    readonly parameterCount: number,
    private readonly hidden: number,
    private readonly clock: FakeClock,
  ) {}

  async predict(features: Float32Array[]): Promise<number[][]> {
    this.clock.time += features.length;
    return features.map((feature) => {
      const logits = this.centroids.map(
        (centroid) => -centroid.reduce((sum, value, i) => sum + (value - (feature[i] ?? 0)) ** 2, 0),
      );
      const max = Math.max(...logits);
      const exps = logits.map((logit) => Math.exp(logit - max));
      const total = exps.reduce((sum, value) => sum + value, 0);
      return exps.map((value) => value / total);
    });
  }

  toJSON(): SerializedHead {
    const inputSize = this.centroids[0]?.length ?? 0;
    return {
      inputSize,
      hidden: this.hidden,
      numClasses: this.centroids.length,
      layers: [
        {
          kernel: this.centroids.flatMap((centroid) => [...centroid]),
          kernelShape: [inputSize, this.centroids.length],
          bias: this.centroids.map(() => 0),
        },
      ],
    };
  }

  dispose(): void {
    this.disposed = true;
  }
}

export interface TrainCall {
  examples: number;
  labelIndices: number[];
  numClasses: number;
  options: HeadTrainingOptions;
}

/** Trains a CentroidHead; training advances the clock by 100 ms. Records every call and head. */
export class CentroidTrainer implements HeadTrainer {
  readonly calls: TrainCall[] = [];
  readonly heads: CentroidHead[] = [];

  constructor(private readonly clock: FakeClock) {}

  async train(
    features: Float32Array[],
    labelIndices: number[],
    numClasses: number,
    options: HeadTrainingOptions,
    _onEpoch?: unknown,
    signal?: AbortSignal,
  ): Promise<TrainedHead> {
    signal?.throwIfAborted();
    this.calls.push({ examples: features.length, labelIndices: [...labelIndices], numClasses, options });
    this.clock.time += 100;
    const dimension = features[0]?.length ?? 0;
    const sums = Array.from({ length: numClasses }, () => new Float32Array(dimension));
    const counts = new Array<number>(numClasses).fill(0);
    features.forEach((feature, i) => {
      const k = labelIndices[i] as number;
      counts[k] = (counts[k] ?? 0) + 1;
      feature.forEach((value, d) => {
        (sums[k] as Float32Array)[d] = ((sums[k] as Float32Array)[d] ?? 0) + value;
      });
    });
    const centroids = sums.map((sum, k) => sum.map((value) => value / Math.max(1, counts[k] ?? 0)));
    const parameters =
      options.hidden === 0
        ? dimension * numClasses + numClasses
        : dimension * options.hidden + options.hidden + options.hidden * numClasses + numClasses;
    const head = new CentroidHead(centroids, parameters, options.hidden, this.clock);
    this.heads.push(head);
    return head;
  }
}
