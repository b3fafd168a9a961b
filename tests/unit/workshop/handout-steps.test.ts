import { describe, expect, it } from 'vitest';
import { escapeHtml, handoutHtml } from '../../../scripts/workshop/handout.ts';
import { GUIDE_STEPS } from '../../../src/lib/core/guide/steps.ts';

describe('workshop handout', () => {
  it('lists the steps of the app’s guided path, in order, from the one step table', async () => {
    const html = await handoutHtml({
      urls: ['https://192.0.2.7:8443/'],
      published: [],
      fingerprint: 'AB:CD',
    });
    const list = /<ol data-testid="handout-guide-steps">([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? '';
    const items = [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((match) => match[1]);
    expect(items).toEqual(
      GUIDE_STEPS.map((step) => `<strong>${escapeHtml(step.where)}</strong>: ${escapeHtml(step.summary)}`),
    );
  });
});
