import { describe, expect, test } from 'vitest';
import {
  isQuotaError,
  QUOTA_MESSAGE,
  StorageError,
  toStorageError,
} from '../../../src/lib/storage/errors.ts';

const quota = (): DOMException => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
const aborted = (): DOMException => new DOMException('The transaction was aborted.', 'AbortError');

describe('isQuotaError', () => {
  test('recognises every shape a full quota takes', () => {
    expect(isQuotaError(quota())).toBe(true);
    // A request of an aborted transaction fails with AbortError; the transaction keeps the real reason.
    expect(isQuotaError(aborted(), quota())).toBe(true);
    expect(isQuotaError(new Error('save failed', { cause: quota() }))).toBe(true);
    // Legacy QUOTA_EXCEEDED_ERR code on an error of another name.
    expect(isQuotaError(Object.assign(new Error('full'), { name: 'Error', code: 22 }))).toBe(true);
  });

  test('is false for other failures', () => {
    expect(isQuotaError(aborted())).toBe(false);
    expect(isQuotaError(aborted(), null)).toBe(false);
    expect(isQuotaError(new DOMException('x', 'DataCloneError'))).toBe(false);
    expect(isQuotaError('QuotaExceededError')).toBe(false);
    expect(isQuotaError(undefined)).toBe(false);
  });

  test('survives a cause cycle', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(isQuotaError(a)).toBe(false);
  });
});

describe('toStorageError', () => {
  test('a full quota becomes the quota message, also behind an aborted transaction', () => {
    for (const error of [
      toStorageError(quota(), 'save the experiment'),
      toStorageError(aborted(), 'save', quota()),
    ]) {
      expect(error).toBeInstanceOf(StorageError);
      expect(error.kind).toBe('quota');
      expect(error.message).toBe(QUOTA_MESSAGE);
    }
  });

  test('other failures name the action and the reason, and offer the export', () => {
    const error = toStorageError(
      new DOMException('Could not clone a proxy.', 'DataCloneError'),
      'save the experiment',
    );
    expect(error.kind).toBe('failed');
    expect(error.message).toBe(
      "Could not save the experiment in the browser's storage (Could not clone a proxy.). Your work is still " +
        'open in this tab; export it to a file to be safe, then reload the page.',
    );
  });

  test('prefers the transaction error as the reason', () => {
    const error = toStorageError(
      aborted(),
      'delete the experiment',
      new DOMException('Disk I/O failed.', 'UnknownError'),
    );
    expect(error.message).toContain('(Disk I/O failed.)');
  });

  test('passes StorageErrors through unchanged', () => {
    const original = new StorageError('not-found', 'gone');
    expect(toStorageError(original, 'open')).toBe(original);
  });
});
