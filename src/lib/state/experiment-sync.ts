/**
 * @file Several tabs of the app on the same saved experiments: each save, rename, creation or deletion is
 * announced on a BroadcastChannel; the other tabs refresh their list and reload the open experiment when they
 * hold nothing unsaved, or else report a conflict instead of overwriting (the store's `expectedUpdatedAt` check
 * catches the saves that race). A Web Lock per experiment tells other tabs that one of its runs is live.
 */
import { StorageError, toStorageError } from '../storage/errors.ts';
import type { ExperimentStore, StoredExperiment } from '../storage/store.ts';

/** Tabs of the app tell each other about saved changes on this channel. */
export const CHANNEL_NAME = 'prompt-vs-finetune:experiments';

/** What one tab tells the others. */
export interface ChangeMessage {
  /** Id of the experiment that was saved, renamed, created or deleted. */
  changed: string;
}

const runLockName = (id: string): string => `prompt-vs-finetune:running:${id}`;

/**
 * Holds a Web Lock named after the experiment while one of its runs is live in this tab; the lock ends with
 * the returned function or with the page. Without Web Locks it does nothing.
 */
export function holdRunLock(id: string): () => void {
  if (typeof navigator === 'undefined' || !navigator.locks) return () => undefined;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  void navigator.locks.request(runLockName(id), () => held).catch(() => undefined);
  return release;
}

/** True when another tab holds the run lock of experiment `id` (its run is going on, not interrupted). */
export async function runIsLiveElsewhere(id: string): Promise<boolean> {
  if (typeof navigator === 'undefined' || !navigator.locks) return false;
  const { held = [] } = await navigator.locks.query();
  return held.some((lock) => lock.name === runLockName(id));
}

/** What the sync needs from the tab it runs in. */
export interface SyncHost {
  /** The id the open experiment is saved under. */
  currentId(): string | undefined;
  /** True when this tab must keep its version: unsaved changes, a run or a save in progress. */
  holdsWork(): boolean;
  /** The `updatedAt` of the version this tab last saved or opened. */
  savedUpdatedAt(): number | undefined;
  /** Reloads the list of experiments. */
  refresh(): Promise<void>;
  /** Puts another tab's newer version of the open experiment on screen. */
  show(stored: StoredExperiment): void;
  /** The open experiment was deleted elsewhere while this tab holds it: the user decides. */
  conflict(error: StorageError): void;
  /** Following another tab failed (a storage error), with the message to show. */
  failed(message: string): void;
}

/** The channel between tabs, as far as the sync uses it (a BroadcastChannel, or a fake in tests). */
export interface Channel {
  postMessage(message: ChangeMessage): void;
  onmessage: ((event: MessageEvent<ChangeMessage>) => void) | null;
  close(): void;
}

/** Follows other tabs' changes to the saved experiments and tells them about this tab's. */
export class ExperimentSync {
  readonly #store: ExperimentStore;
  readonly #host: SyncHost;
  readonly #channel: Channel | undefined;

  /**
   * @param channel The channel to the other tabs; by default a BroadcastChannel when the platform has one (without
   *   one, this tab neither hears nor tells).
   */
  constructor(store: ExperimentStore, host: SyncHost, channel: Channel | undefined = openChannel()) {
    this.#store = store;
    this.#host = host;
    this.#channel = channel;
    if (channel) channel.onmessage = (event) => void this.follow(event.data.changed);
  }

  /** Tells other tabs that an experiment changed, so their lists (and open experiment) follow. */
  announce(id: string): void {
    this.#channel?.postMessage({ changed: id } satisfies ChangeMessage);
  }

  /**
   * Another tab changed experiment `id`: the list is refreshed, and the open experiment is reloaded when this tab
   * holds no work of its own (otherwise its next save reports the conflict instead of overwriting). When it was
   * deleted elsewhere, this tab reports a conflict so the user can keep a copy.
   */
  async follow(id: string): Promise<void> {
    const host = this.#host;
    try {
      await host.refresh();
      if (id !== host.currentId() || host.holdsWork()) return;
      const stored = await this.#store.get(id);
      if (stored && stored.meta.updatedAt !== host.savedUpdatedAt()) host.show(stored);
      if (!stored) {
        host.conflict(
          new StorageError(
            'conflict',
            'This experiment was deleted in another tab. Your work here is intact: keep it as a new ' +
              'experiment, or export it to a file.',
          ),
        );
      }
    } catch (error) {
      host.failed(toStorageError(error, 'follow changes made in another tab').message);
    }
  }

  /** Stops hearing and telling other tabs. */
  close(): void {
    if (this.#channel) {
      this.#channel.onmessage = null;
      this.#channel.close();
    }
  }
}

function openChannel(): Channel | undefined {
  return typeof BroadcastChannel === 'undefined'
    ? undefined
    : (new BroadcastChannel(CHANNEL_NAME) as unknown as Channel);
}
