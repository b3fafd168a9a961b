/**
 * @file Which of the build's files are onnxruntime-web's runtime (either WASM build and its loader), for the
 * service worker (src/sw.ts), which caches only the build a browser uses, and keeps the same builds across updates.
 */

/**
 * A runtime file as Vite names it, `<name>-<8-character hash>.<ext>`: `ort-wasm-simd-threaded-4byDm7i3.wasm`,
 * `ort-wasm-simd-threaded.asyncify-DXIbolS2.mjs`. The names are spelled out: a hash is any 8 of `[A-Za-z0-9_-]`, so
 * a looser name would read `ort-wasm-simd-threaded.wasm` itself as `ort-wasm-simd` hashed "threaded".
 */
const RUNTIME_FILE = /^(ort-wasm-simd-threaded(?:\.asyncify|\.jsep|\.jspi)?)-[\w-]{8}\.(wasm|mjs)$/;

/**
 * What a runtime file is without its hash (`ort-wasm-simd-threaded.asyncify.wasm`), the same in every build of the
 * app; undefined for any other URL (or text that is not a URL).
 */
export function runtimeFileKind(href: string): string | undefined {
  let name: string;
  try {
    name = new URL(href).pathname.split('/').at(-1) ?? '';
  } catch {
    return undefined;
  }
  const match = RUNTIME_FILE.exec(name);
  return match ? `${match[1]}.${match[2]}` : undefined;
}
