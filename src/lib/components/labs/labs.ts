/**
 * @file The labs behind the later tabs (prompt lab, fine-tune lab, compare), each in a chunk of its own: the
 * start-up bundle carries only what the model and data steps need, and a lab's code is fetched
 * and evaluated the first time it is wanted: when its tab is opened, or a moment earlier, when the pointer or the
 * keyboard focus reaches the tab.
 */
import { getContext, setContext, type Component } from 'svelte';

/** The tabs whose panel is loaded on demand. */
export type LabId = 'prompts' | 'finetune' | 'compare';

const IMPORTERS: Readonly<Record<LabId, () => Promise<{ default: Component }>>> = {
  prompts: () => import('../prompts/PromptsPanel.svelte'),
  finetune: () => import('../finetune/FinetunePanel.svelte'),
  compare: () => import('../compare/ComparePanel.svelte'),
};

const ACTIVE = Symbol('lab-active');

/** For the lab's panel: lets the lab read, with {@link labActive}, whether its tab is the one open. */
export function setLabActive(isActive: () => boolean): void {
  setContext(ACTIVE, isActive);
}

/**
 * Whether the lab's tab is the one open (a lab stays mounted, hidden, once opened), read reactively; always true
 * outside a lab panel.
 */
export function labActive(): () => boolean {
  return getContext<(() => boolean) | undefined>(ACTIVE) ?? (() => true);
}

/** One import per lab, shared by every caller; a failed import is forgotten so the next call tries again. */
const loading = new Map<LabId, Promise<Component>>();

/** Whether `id` names a lab loaded on demand. */
export function isLab(id: string): id is LabId {
  return Object.hasOwn(IMPORTERS, id);
}

/** The lab's panel component, imported once; rejects with a message saying what to do when its chunk fails. */
export function loadLab(id: LabId): Promise<Component> {
  const known = loading.get(id);
  if (known) return known;
  const started = IMPORTERS[id]().then(
    (module) => module.default,
    (error: unknown) => {
      loading.delete(id);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `This part of the app could not be loaded (${reason}). Check that the app's server is still running, ` +
          'then try again or reload the page.',
        { cause: error },
      );
    },
  );
  loading.set(id, started);
  return started;
}

/** Starts loading a lab ahead of its first opening; errors wait for the opening that needs it. */
export function preloadLab(id: string): void {
  if (isLab(id)) loadLab(id).catch(() => undefined);
}
