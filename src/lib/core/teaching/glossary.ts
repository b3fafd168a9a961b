/**
 * @file The words a student meets in the lab, each explained once: a one-line explanation shown where the word
 * is met (the `Term` component) and a longer text on the glossary page, which links back to the tabs that use
 * it. Declared as one table so the UI, the glossary and its test read the same list.
 */

/** A step of the lab (a tab of the page), where a term is met. */
export type LabTab = 'model' | 'data' | 'prompts' | 'finetune' | 'compare';

/** One explained term. */
export interface GlossaryTerm {
  /** Stable id: the glossary anchor (`glossary-<id>`) and what the UI names the term by. */
  readonly id: string;
  /** The word or phrase as the page writes it. */
  readonly term: string;
  /** One or two short sentences, shown where the term is met. */
  readonly short: string;
  /** A few more sentences for the glossary page: how it works here and what to look at. */
  readonly long: string;
  /** The tabs that explain the term in place (the glossary links back to them), the first one met first. */
  readonly where: readonly LabTab[];
}

/** Every explained term, in the order a newcomer meets them. */
export const GLOSSARY = [
  {
    id: 'pretrained-model',
    term: 'Pre-trained model',
    short:
      'A network that already learned from a large amount of text before you arrived. Both labs start from it.',
    long:
      'Someone else trained this model on a large collection of text, so it already turns a sentence into numbers ' +
      'that capture its meaning. The prompt lab only changes what you give it; the fine-tune lab keeps it as it ' +
      'is and trains something small on top. Either way you reuse what it learned instead of starting from zero.',
    where: ['model'],
  },
  {
    id: 'test-split',
    term: 'Test split',
    short:
      'Examples set aside before anything is tried. Every prompt and every head is scored on exactly these.',
    long:
      'The data is cut in two: a training part, which a head may learn from and few-shot examples are taken from, ' +
      'and a test part, which nothing learns from. Scoring every method on the same test examples makes the ' +
      'numbers comparable. A score on examples the method has seen would only show that it remembers them.',
    where: ['data'],
  },
  {
    id: 'seed',
    term: 'Seed',
    short: 'A number that fixes every random choice, so the same seed gives the same result again.',
    long:
      'Splitting the data, picking examples and starting a head’s weights all involve chance. The seed decides ' +
      'those choices: run again with the same seed and you get the same numbers; change it to see how much a ' +
      'result depends on luck. If two seeds give very different scores, the difference you measured may be luck.',
    where: ['data', 'finetune'],
  },
  {
    id: 'prompt-variation',
    term: 'Prompt variation',
    short: 'One way of wording the input for the same frozen model. Try several and compare their scores.',
    long:
      'In the prompt lab nothing in the model changes: only the words around the labels or the text. Each card is ' +
      'one variation; running it scores that wording on the test split. Small changes of wording can move the ' +
      'score a lot, which is why you try several and compare them on the same examples.',
    where: ['prompts'],
  },
  {
    id: 'embedding',
    term: 'Embedding and similarity',
    short:
      'The model turns a text into a list of numbers (an embedding); texts with close meanings get close lists.',
    long:
      'An embedding is a point in a space of a few hundred dimensions. Two texts are compared by the angle between ' +
      'their points (cosine similarity: 1 means the same direction, 0 unrelated). A similarity prompt embeds a ' +
      'short text for each label and gives each test text the label whose text is closest.',
    where: ['prompts'],
  },
  {
    id: 'instruction-design',
    term: 'Instruction design',
    short:
      'Writing the task in words for a language model: what to do, maybe some examples, and where the answer goes.',
    long:
      'A language model continues text. An instruction prompt tells it the task ("Classify the topic of the ' +
      'text."), may show solved examples, then ends where the answer should come. Designing it means choosing ' +
      'those words and that layout; the model itself is untouched.',
    where: ['prompts'],
  },
  {
    id: 'verbalizer',
    term: 'Verbalizer',
    short:
      'The word the language model should answer with for a label, such as " sports" for the label sports.',
    long:
      'Labels are names in your data; a language model answers in words. Each label gets a verbalizer, and the ' +
      'model scores how likely it would write each one after the prompt. The most likely one is the prediction. ' +
      'Two labels must not share the same words, or the model cannot tell them apart.',
    where: ['prompts'],
  },
  {
    id: 'few-shot',
    term: 'Few-shot',
    short:
      'Using only a handful of labeled examples per class: shown in the prompt, or used to train a head.',
    long:
      'Zero-shot means no labeled example at all; few-shot means a few per class. In the prompt lab the examples ' +
      'are written into the prompt and the model is not changed. In the fine-tune lab "examples per class" trains ' +
      'the head on only that many, which is how the learning curve asks how many labels training needs.',
    where: ['prompts', 'finetune'],
  },
  {
    id: 'nli',
    term: 'NLI (entailment)',
    short:
      'Natural language inference: a model that judges whether one sentence follows from another (entailment).',
    long:
      'An NLI model reads a premise and a hypothesis and says entailment, neutral or contradiction. Used for ' +
      'classification, the text is the premise and each label becomes a hypothesis ("This text is about sports."); ' +
      'the label whose hypothesis is most entailed wins. It needs a model trained for NLI.',
    where: ['prompts'],
  },
  {
    id: 'calibration',
    term: 'Calibration',
    short:
      'Correcting a prompt that leans towards some label whatever the text, by measuring it on empty inputs.',
    long:
      'Some prompts favour a label before seeing any text. Calibration asks the model about content-free inputs ' +
      '("N/A", the empty text), takes that as the prompt’s bias, and divides every prediction’s scores by it. ' +
      'It often rescues a lopsided prompt; on a balanced one it changes little.',
    where: ['prompts'],
  },
  {
    id: 'parameter-adjustment',
    term: 'Parameter adjustment (fine-tuning)',
    short: 'Changing numbers inside a model from labeled examples, rather than changing its input.',
    long:
      'A model is many numbers (parameters). Fine-tuning nudges some of them so that the model’s answers match ' +
      'labeled examples. Here the large pre-trained part stays frozen and only a small head is trained, which is ' +
      'fast and needs few examples; the results table shows how many parameters each method changed.',
    where: ['finetune'],
  },
  {
    id: 'frozen-layers',
    term: 'Frozen layers',
    short: 'Layers of the pre-trained model that training leaves exactly as they are.',
    long:
      'Training a whole model is slow and needs much data. Freezing its layers means training never changes them: ' +
      'they only turn each text into features. Unfreezing the top layers lets training adjust them too, at the ' +
      'cost of time and a higher risk of overfitting.',
    where: ['finetune'],
  },
  {
    id: 'feature-layer',
    term: 'Feature layer',
    short: 'Which layer of the frozen model gives the numbers (features) the head learns from.',
    long:
      'A text passes through the model layer after layer. Layer 0 holds the words’ own vectors; later layers mix ' +
      'in context and meaning. The head can read any of them. "Probe every layer" trains the head on each and ' +
      'shows which layer carries most about your labels.',
    where: ['finetune'],
  },
  {
    id: 'pooling',
    term: 'Pooling',
    short:
      'How the model’s one vector per word becomes one vector per text: averaged, or one chosen token’s.',
    long:
      'A layer gives a vector for every token of the text, but the head needs one per text. Mean pooling averages ' +
      'them; CLS or last pooling takes a single token’s vector; sentence pooling uses the model’s own sentence ' +
      'embedding, when it computes one.',
    where: ['finetune'],
  },
  {
    id: 'cls',
    term: 'CLS token',
    short:
      'A special token a BERT-like model puts before the text; its vector is meant to sum the whole text up.',
    long:
      'Models such as BERT add a token named [CLS] at the start. During their own training its vector was used to ' +
      'classify whole sentences, so it can stand for the text. Whether it beats averaging every token depends on ' +
      'the model: try both.',
    where: ['finetune'],
  },
  {
    id: 'head',
    term: 'Head',
    short: 'A small network on top of the frozen model that learns to map its features to your labels.',
    long:
      'The head is the only part that is trained. A linear head is one weight per feature and label; a head with ' +
      'hidden units adds one small layer in between. Because it is small it trains in seconds, and the frozen model ' +
      'computes its features only once per text.',
    where: ['finetune'],
  },
  {
    id: 'epoch',
    term: 'Epoch',
    short: 'One pass of training over every training example.',
    long:
      'Training repeats: each epoch shows the head every training example once and adjusts its weights. More ' +
      'epochs fit the training data more closely; past some point the head starts to learn the training examples ' +
      'by heart instead of the pattern (overfitting). The loss chart shows each epoch.',
    where: ['finetune'],
  },
  {
    id: 'learning-rate',
    term: 'Learning rate',
    short: 'How big a step training takes each time it adjusts the weights.',
    long:
      'Too small, and training crawls and may stop before it has learned; too large, and it overshoots, the loss ' +
      'jumps around or even becomes infinite. 0.001 to 0.01 is a common start for a small head; if training ' +
      'diverges, divide it by ten.',
    where: ['finetune'],
  },
  {
    id: 'batch',
    term: 'Batch',
    short: 'How many examples training looks at before each adjustment of the weights.',
    long:
      'The training examples are cut into batches. After each batch the weights take one step. Small batches give ' +
      'many noisy steps per epoch, large ones fewer and smoother steps. It changes the path of training more than ' +
      'its end.',
    where: ['finetune'],
  },
  {
    id: 'overfitting',
    term: 'Overfitting',
    short:
      'When a model learns its training examples by heart: great on them, worse on new ones. Watch the validation curve.',
    long:
      'The training loss keeps falling as the head memorises its examples, but what matters is new text. A part of ' +
      'the training data held back for validation shows it: when the validation loss turns up while the training ' +
      'loss goes down, the head is overfitting. Fewer epochs, dropout, weight decay or more data help.',
    where: ['finetune'],
  },
  {
    id: 'accuracy',
    term: 'Accuracy',
    short: 'The share of test examples that got the right label.',
    long:
      'Easy to read, but it can flatter: if 90% of the e-mails are ham, saying "ham" every time scores 90% and ' +
      'finds no spam at all. Read it next to macro-F1, which treats every class as equally important.',
    where: ['compare'],
  },
  {
    id: 'macro-f1',
    term: 'Macro-F1',
    short:
      'The F1 score of each class (how well it is found without false alarms), averaged over the classes.',
    long:
      'For each class, F1 combines precision (of the examples given that label, how many had it) and recall (of the ' +
      'examples that have it, how many were found). Macro-F1 averages it over the classes with equal weight, so a ' +
      'small class that is never found pulls it down, where accuracy would hardly move.',
    where: ['compare'],
  },
  {
    id: 'confidence-interval',
    term: 'Confidence interval',
    short:
      'The range in brackets: where the score would likely land on other test examples. Overlapping ranges mean "not clearly different".',
    long:
      'A score from a few dozen test examples is uncertain: other examples would give another number. The 95% ' +
      'interval is computed by resampling the test set (bootstrap). When two methods’ intervals overlap a lot, the ' +
      'test set is too small to say which is better; the paired test under the table says it in words.',
    where: ['compare'],
  },
] as const satisfies readonly GlossaryTerm[];

/** The id of a term in the glossary; the `Term` component takes only these. */
export type TermId = (typeof GLOSSARY)[number]['id'];

const byId: ReadonlyMap<string, GlossaryTerm> = new Map(GLOSSARY.map((entry) => [entry.id, entry]));

/** True when `id` names a term of the glossary. */
export function isTermId(id: string): id is TermId {
  return byId.has(id);
}

/**
 * The term with this id.
 * @throws RangeError naming the known ids when there is none (a typo in the UI, caught by the glossary's test).
 */
export function glossaryTerm(id: string): GlossaryTerm {
  const entry = byId.get(id);
  if (entry === undefined) {
    throw new RangeError(`No glossary term "${id}": known terms are ${[...byId.keys()].join(', ')}.`);
  }
  return entry;
}

/**
 * The term explaining each setting of the forms (core/experiment/settings.ts keys), so a setting's field shows
 * its explanation without each form naming it. Settings not listed have only their help text.
 */
export const SETTING_TERMS: Readonly<Record<string, TermId>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, TermId>, {
    test: 'test-split',
    seed: 'seed',
    layer: 'feature-layer',
    pooling: 'pooling',
    hidden: 'head',
    epochs: 'epoch',
    learningRate: 'learning-rate',
    batchSize: 'batch',
    shotsPerClass: 'few-shot',
    validation: 'overfitting',
    unfreeze: 'frozen-layers',
  } satisfies Record<string, TermId>),
);

/** The term explaining a setting, by its key (`epochs`), or undefined when it has none. */
export function settingTerm(key: string): TermId | undefined {
  return Object.hasOwn(SETTING_TERMS, key) ? SETTING_TERMS[key] : undefined;
}
