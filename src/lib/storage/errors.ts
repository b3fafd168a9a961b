/**
 * @file What can go wrong when saving experiments in IndexedDB, turned into messages a user can act on.
 * The browser reports a full quota in several shapes (a `QuotaExceededError` thrown by `put`, a failed request,
 * or an `AbortError` of the transaction whose own `error` is the quota error); all of them become one `quota`
 * error with one message, so the UI can offer "Export to a file".
 */

/** Why storage failed, so the UI can react (offer an export for `quota` and `unavailable`). */
export type StorageErrorKind =
  /** The origin's storage quota is full: nothing new can be written. */
  | 'quota'
  /** IndexedDB cannot be used at all here (disabled, private mode, a failed open). */
  | 'unavailable'
  /** The saved database belongs to a newer version of the app. */
  | 'newer-version'
  /** Another tab holds an older version of the database open, so this one cannot upgrade it. */
  | 'blocked'
  /** The experiment asked for is not stored (deleted in another tab, for instance). */
  | 'not-found'
  /** Another tab saved (or deleted) the experiment since this tab last did: saving would overwrite its work. */
  | 'conflict'
  /** Anything else: a failed transaction, a value that cannot be stored. */
  | 'failed';

/** A storage failure with a message that says what happened and what to do. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly kind: StorageErrorKind;

  constructor(kind: StorageErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** The message shown when the quota is full; the UI shows it next to "Export to a file". */
export const QUOTA_MESSAGE =
  "The browser's storage for this site is full, so your latest changes were not saved. Nothing is lost yet: " +
  'your work is still open in this tab. Export it to a file now, then free space (delete experiments you no ' +
  "longer need, or clear this site's data in the browser settings); saving resumes with your next change.";

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** Legacy DOMException code of QUOTA_EXCEEDED_ERR, still set by some browsers. */
const QUOTA_EXCEEDED_CODE = 22;

/**
 * True when `error`, or what it wraps (`cause`, or the transaction error behind an `AbortError`), is a full
 * quota.
 * @param transactionError The failed transaction's own `error`, when known: an aborted transaction rejects
 *   its pending requests with `AbortError` and keeps the real reason there.
 */
export function isQuotaError(error: unknown, transactionError?: unknown): boolean {
  const seen = new Set<unknown>();
  const pending = [error, transactionError];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    const name = errorName(current);
    if (name === 'QuotaExceededError') return true;
    if ((current as { code?: unknown }).code === QUOTA_EXCEEDED_CODE && name !== undefined) return true;
    pending.push((current as { cause?: unknown }).cause);
  }
  return false;
}

/** The message of any thrown value. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns whatever a storage operation threw into a StorageError with a user-facing message.
 * @param action What was being done, for the message, e.g. "save the experiment".
 * @param transactionError The transaction's `error` when the operation ran in one.
 */
export function toStorageError(error: unknown, action: string, transactionError?: unknown): StorageError {
  if (error instanceof StorageError) return error;
  if (isQuotaError(error, transactionError)) {
    return new StorageError('quota', QUOTA_MESSAGE, { cause: transactionError ?? error });
  }
  const reason = messageOf(transactionError ?? error);
  return new StorageError(
    'failed',
    `Could not ${action} in the browser's storage (${reason}). Your work is still open in this tab; ` +
      'export it to a file to be safe, then reload the page.',
    { cause: error },
  );
}
