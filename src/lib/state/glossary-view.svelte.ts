/**
 * @file Whether the glossary is open and at which term, shared through Svelte context so that any explanation
 * in place (`Term`) can open the glossary at its entry.
 */
import { getContext, hasContext, setContext } from 'svelte';
import type { TermId } from '../core/teaching/glossary.ts';

/** The glossary dialog's state: open or not, and the entry to show first. */
export class GlossaryView {
  open = $state(false);
  /** The entry to bring into view when the glossary opens; undefined for the top. */
  selected = $state<TermId | undefined>(undefined);

  /** Opens the glossary, at `id`'s entry when given. */
  show(id?: TermId): void {
    this.selected = id;
    this.open = true;
  }

  close(): void {
    this.open = false;
  }
}

const KEY = Symbol('glossary-view');

/** Makes `view` available to the calling component's descendants; call during the root component's setup. */
export function setGlossaryView(view: GlossaryView): GlossaryView {
  return setContext(KEY, view);
}

/** The GlossaryView an ancestor set, or undefined (a component rendered on its own has no glossary to open). */
export function findGlossaryView(): GlossaryView | undefined {
  return hasContext(KEY) ? getContext<GlossaryView>(KEY) : undefined;
}
