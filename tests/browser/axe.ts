/**
 * @file axe-core accessibility checks for the browser tests. axe's source comes from the npm package (never a
 * network URL) and is injected into the page with a script tag, which the app's Content-Security-Policy refuses
 * unless the browser was opened with `openBrowser({ bypassCSP: true })`.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AxeResults, ImpactValue, Result } from 'axe-core';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { withTimeout } from './browser.ts';

/** Impacts that fail a check: axe's "serious" and "critical". */
export const FAILING_IMPACTS: readonly ImpactValue[] = ['serious', 'critical'];

/** One axe run walks the whole page's DOM; a loaded machine makes that slow, never this slow. */
const AXE_TIMEOUT_MS = 120_000;

/** One violated rule, with where it happens, short enough to read in a failure message. */
export interface AxeFinding {
  rule: string;
  impact: ImpactValue | undefined;
  help: string;
  /** One line per offending element: its selector and what axe says to fix. */
  nodes: string[];
}

let axeSource: Promise<string> | undefined;

/** axe-core's minified source, read once from node_modules. */
function loadAxeSource(): Promise<string> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

function summarise(result: Result): AxeFinding {
  return {
    rule: result.id,
    impact: result.impact,
    help: result.help,
    nodes: result.nodes.map(
      (node) => `${node.target.join(' ')}: ${(node.failureSummary ?? '').replace(/\s+/g, ' ').trim()}`,
    ),
  };
}

/**
 * Runs axe on the page as it is now (or on the part `include` selects) and returns every violation, whatever its
 * impact. Hidden content (a tab panel not shown, a closed `<details>`) is not checked: open it first.
 */
export async function axeFindings(page: Page, include?: string): Promise<AxeFinding[]> {
  const injected = await page.evaluate(() => 'axe' in window);
  if (!injected) await page.addScriptTag({ content: await loadAxeSource() });
  const results = await withTimeout(
    page.evaluate(async (selector) => {
      const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
      const outcome: AxeResults = await axe.run(selector ?? document, { resultTypes: ['violations'] });
      return outcome.violations;
    }, include),
    AXE_TIMEOUT_MS,
    'axe.run',
  );
  return results.map(summarise);
}

/** The findings that fail a check (serious or critical). */
export function failing(findings: readonly AxeFinding[]): AxeFinding[] {
  return findings.filter((finding) => FAILING_IMPACTS.includes(finding.impact ?? null));
}

/**
 * Asserts that axe finds no serious or critical violation on the page as it is now. `context` names what is
 * being checked (e.g. "Compare tab, 390 px, dark"), so a failure says where; the findings it lists name the
 * rule, the elements and the fix. Returns every finding, failing or not, for a caller that tallies them.
 */
export async function expectNoSeriousViolations(
  page: Page,
  context: string,
  include?: string,
): Promise<AxeFinding[]> {
  const findings = await axeFindings(page, include);
  expect(failing(findings), `axe: serious or critical violations on ${context}`).toEqual([]);
  return findings;
}
