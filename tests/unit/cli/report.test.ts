import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, type CliRun } from './run-cli.ts';

const KEYWORDS = join(ROOT, 'tests/fixtures/experiments/keywords.json');
/** Loading transformers.js, tfjs and the model takes a few seconds on a busy 2-core machine. */
const CLI_TIMEOUT_MS = 120_000;

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'experiment-report-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('npm run experiment -- --report', () => {
  let html: string;
  let run: CliRun;

  beforeAll(async () => {
    run = await runCli([
      KEYWORDS,
      '--report',
      join(workDir, 'report.html'),
      '--out',
      join(workDir, 'results.json'),
    ]);
    html = await readFile(join(workDir, 'report.html'), 'utf8');
  }, CLI_TIMEOUT_MS);

  it('writes a self-contained HTML report of the run beside the results', () => {
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('report written to');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link|img)\b/);
    for (const name of ['bare labels', 'described ensemble', 'templated, with a text template', 'linear']) {
      expect(html).toContain(name);
    }
    expect(html).toContain('Accuracy [95% CI]');
    expect(html).toMatch(/<p class="answer" data-choice="(prompt|fine-tune)">/);
    expect(html).toContain('Prompt engineering vs fine-tuning, measured here');
    expect(html).toContain('File ../datasets/topics-keywords.csv');
    expect(html).toContain('&quot;shotsPerClass&quot;: 8');
  });

  it(
    'writes Markdown for a .md file',
    async () => {
      const file = join(workDir, 'nested/report.md');
      const markdown = await runCli([KEYWORDS, '--report', file]);
      expect(markdown.code).toBe(0);
      const text = await readFile(file, 'utf8');
      expect(text).toMatch(
        /^# Keyword topics on the tiny-bert fixture: prompts vs trained heads: prompt or fine-tune\?\n/,
      );
      expect(text).toContain('## Is the difference real? (McNemar)');
      expect(text).toContain(
        '| Run | Method | Accuracy [95% CI] |'.replace(/\[/g, '\\[').replace(/\]/g, '\\]'),
      );
    },
    CLI_TIMEOUT_MS,
  );

  it('refuses a report path that is a folder, with the same checks as --out', async () => {
    const folder = join(workDir, 'folder.html');
    await mkdir(folder);
    const refused = await runCli([KEYWORDS, '--report', folder]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: --report .*folder\.html is a folder/m);
    expect(refused.stderr).not.toContain('Loaded');
  });

  it.each([
    [['--report', 'report.txt'], /--report must name a \.md or \.html file/, 2],
    [['--report', 'tests'], /--report must name a \.md or \.html file/, 2],
    [['--report', 'same.html', '--out', 'same.html'], /--out and --report name the same file/, 2],
  ])('refuses %j before any work', async (args, message, code) => {
    const refused = await runCli([KEYWORDS, ...(args as string[])]);
    expect(refused.code).toBe(code);
    expect(refused.stderr).toMatch(message);
    expect(refused.stderr).not.toContain('Loaded');
    await expect(stat(join(ROOT, 'same.html'))).rejects.toThrow();
  });
});
