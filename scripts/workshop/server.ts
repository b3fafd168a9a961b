/**
 * @file The workshop server: the production build (`dist/`) served by `vite preview` over HTTPS on every network
 * interface, with the project's own Vite config (so the same COOP/COEP, CSP, nosniff headers and the `models/`
 * plugin), plus the handout page and the published experiments.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { preview, type Plugin, type PreviewServer } from 'vite';
import { ensureCertificate, type WorkshopCertificate } from './certificate.ts';
import { HANDOUT_CSP, handoutHtml } from './handout.ts';
import { lanAddresses, workshopUrl } from './network.ts';
import { createPublishedMiddleware, listPublished, sendText } from './published.ts';

/** Path of the printable handout. */
export const HANDOUT_PATH = '/handout.html';

/** Default port of `npm run workshop`. */
export const DEFAULT_WORKSHOP_PORT = 8443;

/** How to start the workshop server. */
export interface WorkshopOptions {
  /** Project root (holding vite.config.ts and dist/). */
  root: string;
  /** Interface to listen on; default every interface (`0.0.0.0`), so the room can connect. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Where the certificate is kept; default `<root>/.workshop/cert`. */
  certDir?: string;
  /** The built app to serve; default the config's `dist/` (tests pass a folder of their own). */
  outDir?: string;
  /** Folder of published experiments; default `<root>/workshop`. */
  experimentsDir?: string;
  /** Addresses to name in the certificate and print; default every non-internal IPv4 of this machine. */
  addresses?: string[];
  /** Extra host names the certificate must name (e.g. a test's made-up host). */
  hostNames?: string[];
}

/** A running workshop server. */
export interface WorkshopServer {
  server: PreviewServer;
  port: number;
  /** The app's address on each LAN address (empty when the machine has none). */
  urls: string[];
  certificate: WorkshopCertificate;
  close(): Promise<void>;
}

/** Vite plugin adding the handout and the published experiments to the preview server. */
export function workshopPlugin(options: {
  experimentsDir: string;
  handoutUrls: () => string[];
  fingerprint: string;
}): Plugin {
  return {
    name: 'pvf-workshop',
    configurePreviewServer(server) {
      server.middlewares.use(createPublishedMiddleware(options.experimentsDir));
      server.middlewares.use((req, res, next) => {
        if ((req.url ?? '').split(/[?#]/, 1)[0] !== HANDOUT_PATH) return next();
        const urls = options.handoutUrls();
        listPublished(options.experimentsDir)
          .then((published) => handoutHtml({ urls, published, fingerprint: options.fingerprint }))
          .then((html) => {
            res.statusCode = 200;
            res.setHeader('Content-Type', 'text/html; charset=utf-8');
            res.setHeader('Content-Security-Policy', HANDOUT_CSP);
            res.setHeader('X-Content-Type-Options', 'nosniff');
            res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
            res.setHeader('Cache-Control', 'no-cache');
            res.end(req.method === 'HEAD' ? undefined : html);
          })
          .catch((error: unknown) => sendText(res, 500, `Could not make the handout: ${String(error)}`));
      });
    },
  };
}

/** Starts `vite preview` over HTTPS on all interfaces; resolves once the server is listening. */
export async function startWorkshop(options: WorkshopOptions): Promise<WorkshopServer> {
  const root = path.resolve(options.root);
  const addresses = options.addresses ?? lanAddresses();
  const certificate = await ensureCertificate(options.certDir ?? path.join(root, '.workshop', 'cert'), [
    ...addresses,
    ...(options.hostNames ?? []),
  ]);
  let urls: string[] = [];
  const server = await preview({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    logLevel: 'warn',
    plugins: [
      workshopPlugin({
        experimentsDir: options.experimentsDir ?? path.join(root, 'workshop'),
        handoutUrls: () => (urls.length > 0 ? urls : [workshopUrl('localhost', port())]),
        fingerprint: certificate.fingerprint,
      }),
    ],
    ...(options.outDir === undefined ? {} : { build: { outDir: options.outDir } }),
    preview: {
      host: options.host ?? '0.0.0.0',
      port: options.port,
      strictPort: true,
      open: false,
      https: { key: certificate.key, cert: certificate.cert },
    },
  });
  function port(): number {
    const address = server.httpServer.address();
    return typeof address === 'object' && address !== null ? (address as AddressInfo).port : options.port;
  }
  urls = addresses.map((address) => workshopUrl(address, port()));
  return {
    server,
    port: port(),
    urls,
    certificate,
    close: () => server.close(),
  };
}
