import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../../../src/lib/core/experiment/types.ts';
import {
  csvField,
  escapeHtml,
  escapeMarkdown,
  markdownCodeBlock,
} from '../../../../src/lib/core/report/escape.ts';
import {
  datasetProvenance,
  predictionsCsv,
  reportHtml,
  reportMarkdown,
} from '../../../../src/lib/core/report/report.ts';
import { contrastRatio, heatColour, relativeLuminance } from '../../../../src/lib/core/report/svg.ts';
import { cyclingTest, fakeResults, withMistakes } from '../answer/results-fixture.ts';

const HOSTILE_RUN = '<script>alert(1)</script> | *bold* [x](javascript:alert(2))';
const HOSTILE_LABEL = 'a&b<i>';
const HOSTILE_EXPERIMENT = 'spam</title><img src=x onerror=alert(3)>';
const labels = [HOSTILE_LABEL, 'ham'];
const test = cyclingTest(labels, 20).map((example, i) =>
  i === 0 ? { ...example, text: '=HYPERLINK("http://evil") <b>, "quoted"\nnext line' } : example,
);
const truth = test.map((example) => example.label);

function hostileResults() {
  const results = fakeResults(
    labels,
    test,
    [
      { name: HOSTILE_RUN, kind: 'prompt', predicted: withMistakes(labels, test, [0, 1, 2, 3, 4, 5]) },
      { name: 'linear `head`', kind: 'head', predicted: truth },
    ],
    HOSTILE_EXPERIMENT,
  );
  results.learningCurve = {
    head: 'linear `head`',
    shotsPerClass: [1, 2, 4],
    seeds: 2,
    points: [
      { shots: 1, seed: 1, accuracy: 0.5, macroF1: 0.5, trainMs: 10 },
      { shots: 1, seed: 2, accuracy: 0.6, macroF1: 0.6, trainMs: 10 },
      { shots: 2, seed: 1, accuracy: 0.7, macroF1: 0.7, trainMs: 10 },
      { shots: 2, seed: 2, accuracy: 0.8, macroF1: 0.8, trainMs: 10 },
      { shots: 4, seed: 1, accuracy: 0.9, macroF1: 0.9, trainMs: 10 },
      { shots: 4, seed: 2, accuracy: 1, macroF1: 1, trainMs: 10 },
    ],
    crossover: 2,
  };
  return results;
}

const experiment: Experiment = {
  version: 1,
  name: HOSTILE_EXPERIMENT,
  model: 'fixtures/tiny-bert',
  dataset: { name: 'upload ```.csv', rows: [{ t: 'x', l: 'y' }], text: 't', label: 'l' },
  split: { test: 0.3, seed: 42 },
  prompts: [{ name: HOSTILE_RUN, strategy: 'similarity', template: '{label} ``` </pre>' }],
  heads: [],
};

describe('reportHtml', () => {
  const html = reportHtml({
    results: hostileResults(),
    experiment,
    dataset: datasetProvenance(experiment.dataset),
    generatedAt: '2026-12-02T03:00:00Z',
    producedBy: 'a test',
  });

  it('escapes every user string: no tag a name brought survives', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<i>');
    expect(html).not.toContain('</pre>"');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain(
      '<title>spam&lt;/title&gt;&lt;img src=x onerror=alert(3)&gt;: prompt or fine-tune?</title>',
    );
    expect(html).toContain('a&amp;b&lt;i&gt;');
    // One <title> in the head (the charts' <title> elements are inside SVG).
    expect(html.split('</head>')[0]?.match(/<title>/g)).toHaveLength(1);
  });

  it('is self-contained: no script, no external resource', () => {
    expect(html).not.toMatch(/<(script|link|iframe|img|object|embed)\b|url\(/i);
    expect(html.match(/href=/g)).toBeNull();
  });

  it('holds the answer, the CIs, McNemar in words, the article table, the curve, heatmaps, settings and provenance', () => {
    expect(html).toContain('data-choice="fine-tune"');
    expect(html).toMatch(/70\.0% \[\d+\.\d%, \d+\.\d%\]/);
    expect(html).toContain('is better; a difference this large would arise by chance less than 1 time in 20');
    for (const aspect of [
      'Definition',
      'Purpose',
      'Complexity',
      'Cost',
      'Time',
      'Flexibility',
      'Use cases',
      'Dependency',
    ]) {
      expect(html).toContain(`<th scope="row">${aspect}</th>`);
    }
    expect(html).toContain('crossover: 2 per class');
    expect(html.match(/aria-label="Confusion matrix of /g)).toHaveLength(2);
    expect(html).toContain('[1 rows stored in the experiment file]');
    expect(html).toContain('Uploaded file, 1 rows');
    expect(html).toContain('@media print');
    expect(html).toContain('Made 2026-12-02T03:00:00Z with a test.');
  });
});

describe('reportMarkdown', () => {
  const markdown = reportMarkdown({
    results: hostileResults(),
    experiment,
    dataset: datasetProvenance(experiment.dataset),
  });

  it('escapes names so they cannot open markup, links or extra table cells', () => {
    // Outside the settings' code block (where the experiment file is shown verbatim), no raw markup.
    const prose = markdown.slice(0, markdown.indexOf('````json'));
    expect(prose).not.toContain('<script>');
    expect(prose).not.toMatch(/[^\\]\]\(javascript/);
    expect(markdown).toContain(
      '\\<script\\>alert(1)\\</script\\> \\| \\*bold\\* \\[x\\](javascript:alert(2))',
    );
    // Every row of the runs table has exactly the header's 9 unescaped pipes.
    const runRows = markdown
      .split('\n')
      .filter((line) => line.startsWith('| ') && line.includes('trained head'));
    expect(runRows).toHaveLength(1);
    for (const line of markdown
      .split('\n')
      .filter((row) => row.includes('alert(1)') && row.startsWith('|'))) {
      const pipes = line.replace(/\\\|/g, '').match(/\|/g)?.length ?? 0;
      // The article table (3 columns), the McNemar table (5) or the runs table (8).
      expect([4, 6, 9]).toContain(pipes);
    }
  });

  it('keeps the settings in a code fence longer than any backtick run inside', () => {
    expect(markdown).toContain('````json\n');
    expect(markdown).toContain('"template": "{label} ``` </pre>"');
  });

  it('has the same sections as the HTML', () => {
    for (const heading of [
      '## The answer',
      '## Runs',
      '## Is the difference real? (McNemar)',
      '## Prompt engineering vs fine-tuning, measured here',
      '## Learning curve',
      '## Confusion matrices',
      '## Dataset',
      '## Settings',
    ]) {
      expect(markdown).toContain(`\n${heading}\n`);
    }
    expect(markdown).toContain('| 2 | 75.0% | 7.1% | 2 |');
  });
});

describe('predictionsCsv', () => {
  it('writes one row per test example, quotes fields and defuses formulas', () => {
    const csv = predictionsCsv(hostileResults());
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'id,text,label,<script>alert(1)</script> | *bold* [x](javascript:alert(2)): predicted,' +
        '<script>alert(1)</script> | *bold* [x](javascript:alert(2)): correct,' +
        '<script>alert(1)</script> | *bold* [x](javascript:alert(2)): score,' +
        'linear `head`: predicted,linear `head`: correct,linear `head`: score',
    );
    expect(lines[1]).toBe(
      `t0,"'=HYPERLINK(""http://evil"") <b>, ""quoted""\nnext line",a&b<i>,ham,false,0.9,a&b<i>,true,0.9`,
    );
    expect(lines).toHaveLength(test.length + 2);
  });
});

describe('escaping helpers', () => {
  it.each([
    [escapeHtml, `<a href="x">'&'</a>`, '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;'],
    [escapeMarkdown, 'a_b | c\nd', 'a\\_b \\| c d'],
    [csvField, '-1', "'-1"],
    [csvField, 'plain', 'plain'],
  ] as const)('%o(%s) → %s', (escape, input, output) => {
    expect((escape as (value: string) => string)(input)).toBe(output);
  });

  it('fences code with more backticks than it holds', () => {
    expect(markdownCodeBlock('a ```` b')).toBe('`````\na ```` b\n`````');
  });
});

describe('heatColour', () => {
  it('goes from light to dark with a readable text colour', () => {
    expect(heatColour(0)).toEqual({ fill: 'rgb(247, 251, 255)', text: '#000000' });
    expect(heatColour(1)).toEqual({ fill: 'rgb(8, 48, 107)', text: '#ffffff' });
    expect(() => heatColour(1.2)).toThrow(RangeError);
  });

  it('keeps the count readable (WCAG 4.5:1) on every shade, the mid-blues included', () => {
    const luminanceOf = (colour: string): number => {
      const channels = (
        colour.startsWith('#')
          ? [1, 3, 5].map((at) => Number.parseInt(colour.slice(at, at + 2), 16))
          : (colour.match(/\d+/g) ?? []).map(Number)
      ) as [number, number, number];
      return relativeLuminance(channels);
    };
    for (let step = 0; step <= 100; step += 1) {
      const { fill, text } = heatColour(step / 100);
      expect(
        contrastRatio(luminanceOf(fill), luminanceOf(text)),
        `${step}%: ${text} on ${fill}`,
      ).toBeGreaterThanOrEqual(4.5);
    }
    // The shade axe found at 3.6:1 with white text (a cell holding about 60% of its row).
    expect(heatColour(0.6).text).toBe('#000000');
  });

  it('computes WCAG contrast: black on white is 21:1, a colour on itself 1:1', () => {
    expect(contrastRatio(relativeLuminance([0, 0, 0]), relativeLuminance([255, 255, 255]))).toBeCloseTo(
      21,
      5,
    );
    expect(contrastRatio(0.3, 0.3)).toBe(1);
  });
});

describe('datasetProvenance', () => {
  it('states a built-in dataset’s source and license', () => {
    expect(datasetProvenance({ builtin: 'topics' })).toMatchObject({
      source: 'Written for this project',
      license: 'CC0 1.0',
    });
  });
});
