/**
 * @file Font strikes fetched in idle time, a few at a time, before any tab needs them.
 *
 * The first time a page lays out text in a new strike (family, size, weight, style), Chromium on Linux asks the
 * browser process for the font's data and render style, a synchronous round trip inside the layout. Measured in a
 * trace of the data tab's first opening: two such lookups made one layout of 226 objects take 0.6 s on a loaded
 * 2-core machine (`FontCache::GetFontPlatformData`, `GetWebFontRenderStyleForStrike`). Opening a tab that used a
 * size or weight not seen yet paid for it while the user waited. Here each strike the app's styles use is laid
 * out once, off screen, in idle callbacks of at most 10 ms each, so the lookups happen while nothing else is going
 * on, split into short tasks; a tab opened later finds them cached.
 */

/** Font sizes the app's styles use (src/app.css and the components' `<style>` blocks): a test keeps it complete. */
export const FONT_SIZES = [
  '11px',
  '12px',
  '0.75rem',
  '0.8rem',
  '0.85rem',
  '0.88rem',
  '0.9rem',
  '0.92rem',
  '1rem',
  '1.05rem',
  '1.17rem',
  '1.25rem',
  '1.6rem',
] as const;

/** The page's text font (inherited from the root) and the one for code. */
const FAMILIES = ['inherit', "ui-monospace, 'Liberation Mono', monospace"] as const;
/** The code font (src/app.css `code`). */
const MONOSPACE = FAMILIES[1];

/**
 * Sizes set relative to the parent's (`em`), with the family they are drawn in: `code` is 0.9em of the text around
 * it, a table's interval line (compare/RunsTable.svelte `.ci`) 0.8em. Each lands on a pixel size of its own, a strike
 * of its own: the prompt lab's first layout, with `code` inside 0.85rem and 0.9rem text, spent over a second in two
 * such lookups on a loaded machine. A test keeps this list complete.
 */
export const EM_SIZES = [
  { scale: '0.9em', family: MONOSPACE },
  { scale: '0.8em', family: 'inherit' },
] as const;
/**
 * The weights the styles set (inputs are 500, headings and labels 600 or 700): each is its own font request, even
 * where two resolve to the same face.
 */
const WEIGHTS = ['400', '500', '600', '700'] as const;
/** Sizes whose italic is used in running text (`<em>` in notes and paragraphs). */
const ITALIC_SIZES = new Set<string>(['0.85rem', '0.9rem', '1rem']);
/** Glyphs the app's text uses beyond plain ASCII, so their fallback fonts are looked up too. */
const SAMPLE = 'Ag 09 %,.:; … – — → ← ↑ ↓ ✓ × ≈ ± “ ” ‘ ’ µ';

/** One strike to warm: CSS font properties. */
export interface FontStrike {
  family: string;
  size: string;
  weight: string;
  style: 'normal' | 'italic';
}

/** Every strike the app's styles can ask for, most common first. */
export function fontStrikes(): FontStrike[] {
  const strikes: FontStrike[] = [];
  for (const family of FAMILIES) {
    for (const weight of WEIGHTS) {
      for (const size of FONT_SIZES) {
        strikes.push({ family, size, weight, style: 'normal' });
        if (family === 'inherit' && weight === '400' && ITALIC_SIZES.has(size)) {
          strikes.push({ family, size, weight, style: 'italic' });
        }
      }
    }
  }
  // Relative sizes inside running text, at the text weight (code and interval lines are not bold).
  for (const { scale, family } of EM_SIZES) {
    for (const size of FONT_SIZES) {
      strikes.push({ family, size: `calc(${size} * ${parseFloat(scale)})`, weight: '400', style: 'normal' });
    }
  }
  return strikes;
}

/** What an idle callback is told: how long the page is expected to stay idle (`IdleDeadline`). */
export interface IdleTime {
  timeRemaining(): number;
}

/**
 * The most one idle callback spends on strikes, in milliseconds of its idle period. An idle period with nothing
 * scheduled lasts up to 50 ms, so filling it whole made tasks of 50-76 ms; one strike per callback (about 120
 * callbacks, at most one a frame) kept the warm-up running for 2.4-3.1 s after start, through the model's load,
 * where a lookup that waits for a core becomes a long task of its own. With this slice it ends after 50-70
 * callbacks, 1.3-1.9 s after start (a scripted run of the production build on this 2-core machine, side by side).
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
