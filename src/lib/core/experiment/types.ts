/**
 * @file The experiment file (README, "Running an experiment from the terminal"), as TypeScript types: what the UI
 * edits, what storage keeps, what export writes and what the CLI reads. `parseExperiment` (schema.ts) turns unknown JSON into these.
 */

export const EXPERIMENT_VERSION = 1;

/**
 * Data carried inside the experiment itself (an uploaded file), so the experiment stays one self-contained file.
 * `rows` are the file's data rows in order (ids are row numbers, as for a file); `text` and `label` name the
 * fields of each row that hold them.
 */
export interface InlineDatasetRef {
  /** Display name, usually the uploaded file's name, e.g. "reviews.csv". */
  name: string;
  rows: Record<string, string>[];
  text: string;
  label: string;
}

export type DatasetRef =
  | { path: string; text: string; label: string }
  | { builtin: string; text?: string; label?: string }
  | InlineDatasetRef;

export interface SplitSpec {
  /** Fraction of each class held out for testing, 0 < test < 1. */
  test: number;
  seed: number;
}

/** Label-description prompts for an embedding model: classify by cosine similarity. */
export interface SimilarityPrompt {
  name: string;
  strategy: 'similarity';
  /** `{label}` is replaced by each label, e.g. "This text is about {label}." */
  template?: string;
  /** Per label, one description or a list (an ensemble: embeddings averaged). */
  descriptions?: Record<string, string | string[]>;
  /** Wraps each input text, e.g. "query: {text}". */
  textTemplate?: string;
  model?: string;
  /** Contextual calibration: divide by the prompt's scores on content-free inputs (prompts/calibration.ts). */
  calibrate?: boolean;
}

/**
 * Zero-shot classification with an NLI model: premise = the text, hypothesis = the template per label; a label's
 * score is the softmax over labels of each pair's entailment logit (prompts/nli.ts).
 */
export interface NliPrompt {
  name: string;
  strategy: 'nli';
  /** `{label}` is replaced by each label, e.g. "This text is about {label}." */
  hypothesis: string;
  /** Wraps each input text (the premise), e.g. "Review: {text}". */
  textTemplate?: string;
  /** An NLI model (a sequence classifier with an "entailment" label); the experiment's model when omitted. */
  model?: string;
  /** Contextual calibration: divide by the prompt's scores on content-free premises (prompts/calibration.ts). */
  calibrate?: boolean;
}

/**
 * An instruction for a causal language model, with optional few-shot examples from the training split. Each label
 * is scored by the log-probability of its verbalizer's tokens after the rendered prompt
 * (core/prompts/instruction.ts).
 */
export interface InstructionPrompt {
  name: string;
  strategy: 'instruction';
  /** What the model is asked to do, e.g. "Classify the topic of the text." */
  instruction: string;
  /** Per label, the words the model should continue with, e.g. { "sports": " sports" }. */
  verbalizers: Record<string, string>;
  /** Examples per label from the training split shown before the text (0 or absent = zero-shot). */
  shotsPerClass?: number;
  /** The plain prompt format, with {instruction}, {shots} and {text}; the default is DEFAULT_INSTRUCTION_TEMPLATE. */
  template?: string;
  /** Wrap the prompt in the model's own chat template (tokenizer_config.json `chat_template`). */
  chatTemplate?: boolean;
  /** Score a label by the mean log-probability per verbalizer token instead of the sum. */
  lengthNormalize?: boolean;
  /** Contextual calibration: divide by the scores of content-free inputs, then renormalise. */
  calibrate?: boolean;
  model?: string;
}

export type PromptSpec = SimilarityPrompt | NliPrompt | InstructionPrompt;

/**
 * How token vectors become one vector: mean of the real tokens, the first token, the last real token, or the
 * model's own sentence embedding (`sentence`, for models that compute one from their last layer).
 */
export type Pooling = 'mean' | 'cls' | 'last' | 'sentence';

export interface HeadSpec {
  name: string;
  /** Hidden layer feeding the head: 0 = embeddings, -1 = last. */
  layer: number;
  pooling: Pooling;
  /** 0 = linear head; > 0 = one hidden layer of that many units. */
  hidden: number;
  epochs: number;
  learningRate: number;
  seed: number;
  batchSize?: number;
  /** Train on at most this many examples per class (from the train split). */
  shotsPerClass?: number;
  // ---- training options (settings.ts declares their ranges)
  /** Dropout on the hidden layer, 0 ≤ dropout < 1; needs `hidden` > 0. */
  dropout?: number;
  /** Decoupled weight decay (AdamW). */
  weightDecay?: number;
  /** Fraction of the training examples held out for validation (seeded, stratified; never the test split). */
  validation?: number;
  /** Early stopping: epochs without a better validation loss before stopping; needs `validation`. */
  patience?: number;
  classWeights?: ClassWeighting;
  /**
   * Train the top N transformer layers under the feature layer with the head (0 or absent = head only). They are
   * fed cached token-level hidden states of the layer below them.
   */
  unfreeze?: number;
  /** Cap on tokens per text kept for unfrozen layers (memory of the cached token states); default 64. */
  maxTokens?: number;
  /** Learning rate of the unfrozen layers; absent = 0.1 × `learningRate` (see settings.ts). */
  layerLearningRate?: number;
}

/** How each example's loss is weighed: by 1, or inversely to its class's size. */
export type ClassWeighting = 'none' | 'balanced';

export interface Experiment {
  version: typeof EXPERIMENT_VERSION;
  name: string;
  /** An id under models/ (hub layout) or a folder path relative to the experiment file, or absolute. */
  model: string;
  dataset: DatasetRef;
  split: SplitSpec;
  prompts: PromptSpec[];
  heads: HeadSpec[];
  /** Train a head again on growing numbers of labeled examples, to see from how many training pays off. */
  learningCurve?: LearningCurveSpec;
}

/** The learning-curve request of an experiment file. */
export interface LearningCurveSpec {
  /** Examples per class to train on, each drawn from the training split (capped at what a class has). */
  shotsPerClass: number[];
  /** Draws per size, seeds 1..n: the spread over them is the curve's error band. */
  seeds: number;
  /** The head whose settings are trained (by name); the first head when omitted. */
  head?: string;
}

/** Per test example: predicted label and a score per label (in `labels` order). */
export interface Prediction {
  id: string;
  label: string;
  scores: Record<string, number>;
}

export interface RunCost {
  /** Time spent adapting: building prompt embeddings, or extracting train features + training. */
  adaptMs: number;
  /** Time to predict the whole test split. */
  inferMs: number;
  /** Labeled examples the method consumed (0 for zero-shot prompts). */
  labeledExamples: number;
  /** Parameters changed by adaptation (0 for prompts). */
  trainedParameters: number;
}

export interface RunResult {
  name: string;
  kind: 'prompt' | 'head';
  accuracy: number;
  macroF1: number;
  /**
   * 95% percentile-bootstrap intervals (1,000 seeded resamples of the test examples). Set on every run the
   * orchestrator scores; absent only on runs saved before they existed.
   */
  accuracyCI?: [number, number];
  macroF1CI?: [number, number];
  /** Rows true label, columns predicted label, both in `labels` order. */
  confusion: number[][];
  predictions: Prediction[];
  cost: RunCost;
  // ---- what a prompt run fed the model (prompt runs only; shared by every prompt strategy)
  /** The exact model input for the first test example: a text, or an NLI premise with one hypothesis per label. */
  rendered?: string | { premise: string; hypotheses: string[] };
  /** Ids of the training examples used in the prompt, in prompt order; [] for zero-shot. */
  shots?: string[];
  /** Tokens the model processed for this run (padding excluded). */
  tokens?: number;
  /** Test texts cut to fit the model's token limit. */
  truncated?: number;
  /** True when the scores were contextually calibrated (prompts/calibration.ts). */
  calibrated?: boolean;
  /** How label scores were computed, e.g. "sum of verbalizer log-probabilities" or "mean per token". */
  scoring?: string;
}

export interface ExperimentResults {
  version: typeof EXPERIMENT_VERSION;
  name: string;
  model: string;
  labels: string[];
  split: {
    seed: number;
    testFraction: number;
    /** How many examples the train split holds. */
    train: number;
    /** The held-out examples every run is scored on, in the order predictions use. */
    test: { id: string; text: string; label: string }[];
  };
  runs: RunResult[];
  /** The exact McNemar test between every pair of runs (by name, in run order: a before b). */
  comparisons?: RunComparison[];
  learningCurve?: LearningCurveResult;
}

/** Two runs on the same test examples: who got which right, and how likely the difference is by chance. */
export interface RunComparison {
  a: string;
  b: string;
  /** Test examples `a` got right and `b` wrong. */
  onlyA: number;
  /** Test examples `b` got right and `a` wrong. */
  onlyB: number;
  /** Exact two-sided binomial p-value on the discordant examples. */
  p: number;
}

/** One head trained on `shots` examples per class drawn with `seed`, scored on the usual test split. */
export interface LearningCurvePoint {
  shots: number;
  seed: number;
  accuracy: number;
  macroF1: number;
  trainMs: number;
}

export interface LearningCurveResult {
  /** The head whose settings were trained. */
  head: string;
  shotsPerClass: number[];
  seeds: number;
  points: LearningCurvePoint[];
  /** The smallest shots per class where the head's mean accuracy reaches the best prompt's; null when never. */
  crossover: number | null;
  /** The prompt run the crossover is measured against (the most accurate one); absent when no prompt ran. */
  bestPrompt?: { name: string; accuracy: number };
  /** Sizes a class could not fill: it has only `available` training examples, so all of them were used. */
  capped?: LearningCurveCap[];
}

/** One class that had fewer training examples than a size of the curve asked for. */
export interface LearningCurveCap {
  shots: number;
  label: string;
  available: number;
}
