/**
 * @file Shares the page's ExperimentState with every panel through Svelte context (no module-level singletons,
 * so tests and future multi-experiment views can create their own).
 */
import { createContext } from 'svelte';
import type { ExperimentState } from './ExperimentState.svelte.ts';

const [getContext, setContext] = createContext<ExperimentState>();

/** Makes `state` available to the calling component's descendants; call during the root component's setup. */
export function setExperimentState(state: ExperimentState): ExperimentState {
  return setContext(state);
}

/** The ExperimentState set by an ancestor; throws when none was set. */
export function getExperimentState(): ExperimentState {
  return getContext();
}
