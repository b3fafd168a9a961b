import { describe, expect, it } from 'vitest';
import { noBrowserReason, startMessage, type Terminal } from '../../../scripts/start/browser.ts';

describe('npm start: opening a browser', () => {
  const cases: [string, Terminal, string | undefined][] = [
    ['a Linux desktop (X11)', { platform: 'linux', env: { DISPLAY: ':0' } }, undefined],
    ['a Linux desktop (Wayland)', { platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' } }, undefined],
    [
      'an SSH session or a container',
      { platform: 'linux', env: {} },
      'this terminal has no graphical display',
    ],
    [
      'an empty DISPLAY',
      { platform: 'freebsd', env: { DISPLAY: '' } },
      'this terminal has no graphical display',
    ],
    ['macOS', { platform: 'darwin', env: {} }, undefined],
    ['Windows', { platform: 'win32', env: {} }, undefined],
    ['BROWSER=none anywhere', { platform: 'darwin', env: { BROWSER: 'None' } }, 'BROWSER=none is set'],
  ];
  it.each(cases)('on %s', (_, terminal, reason) => {
    expect(noBrowserReason(terminal)).toBe(reason);
  });

  it('says where the app is, and to open it by hand when no browser can be opened', () => {
    const url = 'http://localhost:5173/';
    const headless = startMessage(url, 'this terminal has no graphical display').join('\n');
    expect(headless).toContain(`ready at ${url}`);
    expect(headless).toContain('No browser was opened (this terminal has no graphical display)');
    expect(startMessage(url, undefined).join('\n')).toContain('open that address yourself');
  });
});
