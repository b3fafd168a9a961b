/**
 * @file Imported first by src/main.ts, so it runs before any other app module (and so before any worker
 * exists): when model downloads are off, the page gets a second Content-Security-Policy that allows
 * connections to this origin only. A browser enforces every policy it is given, so the hub-allowing policy
 * from the server (or the built index.html) can no longer reach the hub.
 */
import { OFFLINE_POLICY_ATTRIBUTE, SELF_ONLY_CONNECT_POLICY, downloadsAllowed } from './csp.ts';

/** The page's localStorage, or undefined where reading it throws (storage blocked). */
function pageStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/**
 * Adds the connections-to-this-origin-only policy to `doc` (once). A policy cannot be lifted without a reload:
 * after allowing downloads, reload the page (workers started afterwards get theirs from their script URL).
 */
export function restrictConnectionsToSelf(doc: Document): void {
  if (doc.head.querySelector(`meta[${OFFLINE_POLICY_ATTRIBUTE}]`)) return;
  const meta = doc.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = SELF_ONLY_CONNECT_POLICY;
  meta.setAttribute(OFFLINE_POLICY_ATTRIBUTE, '');
  doc.head.prepend(meta);
}

/** Applies the startup policy for the stored setting; returns whether downloads are allowed. */
export function applyStartupPolicy(doc: Document, storage: Pick<Storage, 'getItem'> | undefined): boolean {
  const allowed = downloadsAllowed(storage);
  if (!allowed) restrictConnectionsToSelf(doc);
  return allowed;
}

applyStartupPolicy(document, pageStorage());
