/**
 * @file `npm start`: serves the app with Vite's dev server on this computer only, prints where it is in plain
 * words, and opens a browser when this terminal can (scripts/start/browser.ts decides); otherwise it says to open
 * the address by hand instead of failing silently.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { noBrowserReason, startMessage } from './browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const server = await createServer({
  root,
  configFile: path.join(root, 'vite.config.ts'),
  server: { open: false },
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? `http://localhost:${String(server.config.server.port)}/`;
const reason = noBrowserReason({ platform: process.platform, env: process.env });
console.log('');
for (const line of startMessage(url, reason)) console.log(`  ${line}`);
console.log('');
if (reason === undefined) server.openBrowser();
