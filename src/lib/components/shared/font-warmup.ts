/**
 * @file Font strikes fetched in idle time, a few at a time, before any tab needs them.
 *
 * The first time a page lays out text in a new strike (family, size, weight, style), Chromium on Linux asks the
 * browser process for the font's data and render style, a synchronous round trip inside the layout. Measured in a
 * trace of the data tab's first opening: two such lookups made one layout of 226 objects take 0.6 s on a loaded
 * 2-core machine (`FontCache::GetFontPlatformData`, `GetWebFontRenderStyleForStrike`). Opening a tab that used a
 * size or weight not seen yet paid for it while the user waited. Here each strike the app draws text in is laid
 * out once, off screen, in idle callbacks of at most 10 ms each, so the lookups happen while nothing else is going
 * on, split into short tasks; a tab opened later finds them cached.
 */

/** The code font (src/app.css `code`). */
const MONOSPACE = "ui-monospace, 'Liberation Mono', monospace";

/** A font weight the styles set: 400 text, 500 form fields, 600 labels and table heads, 700 headings. */
type Weight = '400' | '500' | '600' | '700';

/** One size of a family and the weights (and whether the italic) the app draws at it. */
interface DrawnSize {
  size: string;
  weights: readonly Weight[];
  italic?: true;
}

/**
 * The strikes the app draws text in, by family and size. Every combination of family, size and weight was 133
 * strikes, each a lookup; the tabs, the guided tour and the glossary draw 30 of them. The accessibility browser
 * test walks all of them (every tab after a full run, with their collapsed parts open, at two widths and in both
 * colour schemes), collects the strike of every visible text and form field, and fails on one missing here; a
 * unit test keeps every size the styles set in the list. A size set in `em` lands on a pixel size of its own per
 * parent size, a strike of its own: the prompt lab's first layout, with `code` inside 0.85rem and 0.9rem text,
 * spent over a second in two such lookups on a loaded machine.
 */
const DRAWN: readonly { family: string; sizes: readonly DrawnSize[] }[] = [
  {
    family: 'inherit',
    sizes: [
      { size: '1rem', weights: ['400', '500', '600', '700'] },
      { size: '0.9rem', weights: ['400', '600', '700'], italic: true },
      { size: '0.92rem', weights: ['400', '500', '600', '700'] },
      { size: '0.85rem', weights: ['400'] },
      { size: '0.8rem', weights: ['400', '600', '700'] },
      { size: '0.88rem', weights: ['400'] },
      { size: '0.75rem', weights: ['400'] },
      { size: '1.05rem', weights: ['400', '700'] },
      { size: '1.17rem', weights: ['700'] },
      { size: '1.25rem', weights: ['700'] },
      { size: '1.6rem', weights: ['700'] },
      // Chart labels (SVG text in px).
      { size: '11px', weights: ['400'] },
      { size: '12px', weights: ['400'] },
      // A table's interval line, 0.8em of its 0.92rem cell.
      { size: 'calc(0.92rem * 0.8)', weights: ['400'] },
    ],
  },
  {
    family: MONOSPACE,
    sizes: [
      // `code` is 0.9em of the text around it.
      { size: 'calc(0.85rem * 0.9)', weights: ['400'] },
      { size: 'calc(0.9rem * 0.9)', weights: ['400'] },
      { size: 'calc(0.92rem * 0.9)', weights: ['400'] },
      // Text areas and code fields.
      { size: '0.85rem', weights: ['400'] },
      { size: '0.9rem', weights: ['500'] },
    ],
  },
];
/** Glyphs the app's text uses beyond plain ASCII, so their fallback fonts are looked up too. */
const SAMPLE = 'Ag 09 %,.:; … – — → ← ↑ ↓ ✓ × ≈ ± “ ” ‘ ’ µ';

/** One strike to warm: CSS font properties. */
export interface FontStrike {
  family: string;
  size: string;
  weight: string;
  style: 'normal' | 'italic';
}

/** Every strike the app draws text in ({@link DRAWN}), most common first. */
export function fontStrikes(): FontStrike[] {
  return DRAWN.flatMap(({ family, sizes }) =>
    sizes.flatMap(({ size, weights, italic }) => [
      ...weights.map((weight) => ({ family, size, weight, style: 'normal' as const })),
      ...(italic ? [{ family, size, weight: '400', style: 'italic' as const }] : []),
    ]),
  );
}

/** What an idle callback is told: how long the page is expected to stay idle (`IdleDeadline`). */
export interface IdleTime {
  timeRemaining(): number;
}

/**
 * The most one idle callback spends on strikes, in milliseconds of its idle period. An idle period with nothing
 * scheduled lasts up to 50 ms, so filling it whole made tasks of 50-76 ms; one strike per callback (about 120
 * callbacks, at most one a frame) kept the warm-up running for 2.4-3.1 s after start, through the model's load,
 * where a lookup that waits for a core becomes a long task of its own. With this slice the 133 strikes of every
 * family, size and weight took 50-70 callbacks and ended 1.3-1.9 s after start; the 31 drawn ones end 1.0-1.15 s
 * after start, 0.2-0.4 s after the first (the production build on this 2-core machine, side by side, no model load).
 */
export const IDLE_SLICE_MS = 10;

/** Runs `task` when the page is idle (at most `timeout` ms later, then with no idle time); returns a cancel. */
type IdleScheduler = (task: (idle?: IdleTime) => void) => () => void;

const whenIdle: IdleScheduler = (task) => {
  if (typeof requestIdleCallback === 'function') {
    const handle = requestIdleCallback(task, { timeout: 5000 });
    return () => cancelIdleCallback(handle);
  }
  const handle = setTimeout(() => task(), 50);
  return () => clearTimeout(handle);
};

/** Lays out one strike off screen and invisible, which makes the browser fetch it; nothing stays attached. */
function layOut(strike: FontStrike): void {
  const box = document.createElement('div');
  box.setAttribute('aria-hidden', 'true');
  box.style.cssText =
    'position:fixed;left:-10000px;top:0;visibility:hidden;pointer-events:none;contain:layout style;white-space:nowrap';
  const text = document.createElement('span');
  text.style.fontFamily = strike.family;
  text.style.fontSize = strike.size;
  text.style.fontWeight = strike.weight;
  text.style.fontStyle = strike.style;
  text.textContent = SAMPLE;
  box.append(text);
  document.body.append(box);
  // Reading the width lays the text out now (the page is idle, so only this box), which fetches the strike.
  void text.offsetWidth;
  box.remove();
}

/**
 * Lays out each of {@link fontStrikes} once in idle callbacks: each callback lays out strikes for at most
 * {@link IDLE_SLICE_MS} of its idle time and leaves at least that much of it unused; one called without idle
 * time (its timeout passed) lays out a single strike. Returns a function that stops what is left (call it when
 * the page goes away).
 */
export function warmFontStrikes(schedule: IdleScheduler = whenIdle): () => void {
  const pending = fontStrikes();
  let cancel: (() => void) | undefined;
  const next = (idle?: IdleTime): void => {
    const stopBelow = idle ? Math.max(idle.timeRemaining() - IDLE_SLICE_MS, IDLE_SLICE_MS) : Infinity;
    do {
      const strike = pending.shift();
      if (!strike) {
        cancel = undefined;
        return;
      }
      layOut(strike);
    } while (idle !== undefined && idle.timeRemaining() > stopBelow);
    cancel = schedule(next);
  };
  cancel = schedule(next);
  return () => {
    pending.length = 0;
    cancel?.();
  };
}
