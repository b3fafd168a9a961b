/**
 * @file What is wrong with each card of the lab (a prompt variation, a head), in plain words, for the card to
 * show next to the field that caused it. Two sources: the experiment's validation (live: it clears the moment the
 * field is fixed) and the last run of the card that failed (kept with the spec it ran with: it clears when that
 * field changes or the next run succeeds). The wording is the core's (core/teaching/plain-errors.ts).
 */
import { SvelteMap } from 'svelte/reactivity';
import type { ExperimentError } from '../core/errors.ts';
import type { Experiment } from '../core/experiment/types.ts';
import {
  explainError,
  failureStillApplies,
  isOnCard,
  type CardRef,
  type PlainError,
} from '../core/teaching/plain-errors.ts';

/** A card's problem and where it comes from: a value the experiment cannot hold, or a run that failed. */
export interface CardProblem {
  readonly problem: PlainError;
  readonly source: 'invalid' | 'failed';
}

/** What the problems are read from: the state's experiment, prompt keys and validation (ExperimentState). */
export interface CardProblemSource {
  readonly experiment: Experiment;
  readonly promptKeys: readonly string[];
  readonly validation: ExperimentError | undefined;
}

/** A run failure with the card's spec as it ran. */
interface Failure {
  problem: PlainError;
  spec: object;
}

/** Per-card problems of one ExperimentState. */
export class CardProblems {
  readonly #source: CardProblemSource;
  /** Run failures by card: `prompt:<prompt key>` (stable through renames and moves) or `head:<index>`. */
  readonly #failures = new SvelteMap<string, Failure>();
  /** The validation's problem in plain words, worded once per change of the experiment. */
  readonly #invalid: PlainError | undefined = $derived.by(() => {
    const validation = this.#source.validation;
    return validation === undefined ? undefined : explainError(validation);
  });

  constructor(source: CardProblemSource) {
    this.#source = source;
  }

  /** The problem to show on a card now, or undefined: the validation's first, else its last failed run's. */
  of(card: CardRef): CardProblem | undefined {
    const invalid = this.#invalid;
    if (invalid !== undefined && isOnCard(invalid, card)) return { problem: invalid, source: 'invalid' };
    const key = this.#key(card);
    const failure = key === undefined ? undefined : this.#failures.get(key);
    const spec = this.#spec(card);
    if (failure === undefined || spec === undefined) return undefined;
    return failureStillApplies(failure.problem, failure.spec, spec)
      ? { problem: failure.problem, source: 'failed' }
      : undefined;
  }

  /**
   * Records that the run of a card failed with `error`. An error that names another card or the experiment as
   * a whole (the data, the split) is not this card's and is not recorded here.
   */
  fail(card: CardRef, error: unknown): void {
    const key = this.#key(card);
    const spec = this.#spec(card);
    if (key === undefined || spec === undefined) return;
    const problem = explainError(error, card);
    if (!isOnCard(problem, card)) return;
    this.#failures.set(key, { problem, spec: $state.snapshot(spec) as object });
  }

  /** The card's run succeeded: its failure no longer applies. */
  succeed(card: CardRef): void {
    const key = this.#key(card);
    if (key !== undefined) this.#failures.delete(key);
  }

  /** Forgets every failure (another experiment was opened). */
  clear(): void {
    this.#failures.clear();
  }

  #key(card: CardRef): string | undefined {
    if (card.kind === 'head') return `head:${card.index}`;
    const key = this.#source.promptKeys[card.index];
    return key === undefined ? undefined : `prompt:${key}`;
  }

  #spec(card: CardRef): object | undefined {
    const { prompts, heads } = this.#source.experiment;
    return card.kind === 'prompt' ? prompts[card.index] : heads[card.index];
  }
}
