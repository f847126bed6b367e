import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bootstrapRatio } from './compare.ts';
import { fixtureResults } from './fixture.ts';
import { renderHtmlReport } from './html.ts';
import { costPerMillionTokens, mermaidPareto, renderMarkdownReport } from './markdown.ts';

describe('markdown report', () => {
  it('matches the golden file', async () => {
    await expect(renderMarkdownReport(fixtureResults())).toMatchFileSnapshot('__fixtures__/report.golden.md');
  });

  it('states an unmet SLA and leaves out cost without a price', async () => {
    const r = fixtureResults();
    r.gpuHourlyUsd = null;
    for (const p of r.points) p.meetsSla = false;
    r.selected = null;
    r.top = [];
    const md = renderMarkdownReport(r);
    expect(md).toContain('**SLA not met**');
    expect(md).not.toContain('$/M tok');
    await expect(md).toMatchFileSnapshot('__fixtures__/report-unmet.golden.md');
  });

  it('cost per million tokens = GPUs × $/h ÷ tokens per hour', () => {
    expect(costPerMillionTokens({ gpus: 2, outputTokensPerSecond: 1000 }, 1.8)).toBeCloseTo((3.6 * 1e6) / 3.6e6, 10);
    expect(costPerMillionTokens({ gpus: 2, outputTokensPerSecond: 0 }, 1.8)).toBeNull();
  });

  it('the mermaid chart lists the front in ascending tokens/s/user', () => {
    const chart = mermaidPareto(fixtureResults());
    expect(chart).toContain('x-axis "tokens/s/user" ["60", "140", "190", "210"]');
    expect(chart).toContain('line [1920.0, 1120.0, 380.0, 105.0]');
  });

  it('HTML is self-contained and cannot be broken out of by data', () => {
    const r = fixtureResults();
    r.configs[0]!.dgdYaml = 'x: "</script><script>alert(1)</script>"';
    const html = renderHtmlReport(r);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org)/);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });
});

describe('bootstrap ratio', () => {
  it('flags a 10 % slowdown and not identical distributions', () => {
    const base = Array.from({ length: 60 }, (_, i) => 20 + ((i * 37) % 11) / 10);
    const slow = base.map((x) => x * 1.1);
    expect(bootstrapRatio(base, slow).verdict).toBe('regression');
    expect(bootstrapRatio(base, [...base].reverse()).verdict).toBe('no-change');
    expect(bootstrapRatio(base.slice(0, 3), slow).verdict).toBe('insufficient-data');
  });

  it('the interval always contains the point ratio (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1, max: 100, noNaN: true }), { minLength: 5, maxLength: 40 }), fc.double({ min: 0.5, max: 2, noNaN: true }), (xs, k) => {
        const r = bootstrapRatio(xs, xs.map((x) => x * k), { resamples: 200 });
        return r.ciLow <= r.ratio + 1e-9 && r.ratio <= r.ciHigh + 1e-9 && Math.abs(r.ratio - k) < 1e-9;
      }),
      { numRuns: 50 },
    );
  });
});
