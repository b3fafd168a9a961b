/**
 * @file `npm run workshop`: builds the app when `dist/` is out of date, then serves it and `models/` to the local
 * network over HTTPS (see README, "For teachers"). Prints the addresses, a QR code, what students will see at the
 * certificate warning, and where the printable handout is. `--port <n>` picks the port (default 8443).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { buildIsStale } from './build-check.ts';
import { CERTIFICATE_WARNING, qrTerminal } from './handout.ts';
import { listPublished } from './published.ts';
import { DEFAULT_WORKSHOP_PORT, HANDOUT_PATH, startWorkshop } from './server.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function parsePort(args: readonly string[]): number {
  const index = args.indexOf('--port');
  if (index === -1) return DEFAULT_WORKSHOP_PORT;
  const value = args[index + 1] ?? '';
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new Error(`--port needs a whole number from 1 to 65535, not "${value}".`);
  }
  return port;
}

async function main(): Promise<void> {
  const port = parsePort(process.argv.slice(2));
  if (await buildIsStale(root)) {
    console.log('Building the app (dist/ is missing or older than the sources)…');
    await build({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
  } else {
    console.log('dist/ is up to date: serving it as built.');
  }
  const workshop = await startWorkshop({ root, port });
  const { urls, certificate } = workshop;
  console.log(
    certificate.created
      ? `Made a new certificate for ${certificate.hosts.join(', ')} (kept in .workshop/cert/ and reused).`
      : 'Reusing the certificate kept in .workshop/cert/.',
  );
  if (urls.length === 0) {
    console.log(`\nThis machine has no network address: connect to the room's Wi-Fi and start again.`);
    console.log(`On this machine only: https://localhost:${workshop.port}/`);
  } else {
    console.log('\nStudents open (same Wi-Fi as this laptop):');
    for (const url of urls) console.log(`  ${url}`);
    console.log(`\n${await qrTerminal(urls[0] ?? '')}`);
    console.log(`Printable handout: ${urls[0]}${HANDOUT_PATH.slice(1)}`);
  }
  const published = await listPublished(path.join(root, 'workshop'));
  if (published.length > 0) {
    console.log('\nPublished experiments (from workshop/):');
    for (const item of published)
      console.log(`  ${item.name}: ${urls[0] ?? `https://localhost:${workshop.port}/`}${item.link.slice(1)}`);
  }
  console.log(`\nAbout the certificate warning:\n  ${CERTIFICATE_WARNING.join('\n  ')}`);
  console.log(`Certificate fingerprint (SHA-1): ${certificate.fingerprint}\n\nPress Ctrl+C to stop.`);
  const stop = (): void => {
    void workshop.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
