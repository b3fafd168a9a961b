/**
 * @file Whether `npm start` can open a browser from this terminal, and what it says either way. Pure, so the
 * decision is tested without a display.
 */

/** The facts the decision depends on: the platform and the environment variables. */
export interface Terminal {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Why no browser can be opened from `terminal`, or undefined when one can be tried: `BROWSER=none` asks for none,
 * and on Linux and the BSDs a browser needs a graphical session (`DISPLAY` or `WAYLAND_DISPLAY`), which an SSH
 * session, a container or a CI job does not have.
 */
export function noBrowserReason(terminal: Terminal): string | undefined {
  const { platform, env } = terminal;
  if (env.BROWSER?.toLowerCase() === 'none') return 'BROWSER=none is set';
  if (platform === 'darwin' || platform === 'win32') return undefined;
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return 'this terminal has no graphical display';
  return undefined;
}

/** The lines `npm start` prints once the app is served at `url`. */
export function startMessage(url: string, reason: string | undefined): string[] {
  if (reason !== undefined) {
    return [
      `The app is ready at ${url}`,
      `No browser was opened (${reason}): open that address in a browser on this computer.`,
      'Stop the app with Ctrl+C.',
    ];
  }
  return [
    `The app is ready at ${url} and should open in your browser now.`,
    'If no browser window appears, open that address yourself. Stop the app with Ctrl+C.',
  ];
}
