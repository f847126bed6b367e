import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtureResults } from './fixture.ts';
import { renderHtmlReport } from './html.ts';

// Opens the self-contained HTML report in headless Chromium (tools/scripts/setup-browser.sh installs it in CI).
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.log(`browser test skipped: ${CHROMIUM} not found (run tools/scripts/setup-browser.sh)`);

describe.skipIf(!available)('HTML report in a browser', () => {
  it('renders the Pareto chart and shows a point’s DGD on click', async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'report-browser-'));
    const file = join(dir, 'report.html');
    const r = fixtureResults();
    writeFileSync(file, renderHtmlReport(r));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      expect(await page.locator('#pareto-chart circle.pt').count()).toBe(r.points.length);
      expect(await page.locator('#pareto-chart circle.front').count()).toBe(r.pareto.length);
      // the selection is shown first; click another point and its config and DGD replace it
      const target = r.points[0]!;
      await page.locator(`#pareto-chart circle[data-id="${target.id}"]`).click();
      await expect.poll(() => page.locator('#point-title').textContent()).toContain('concurrency 1');
      expect(await page.locator('#dgd').textContent()).toContain('kind: DynamoGraphDeployment');
      expect(await page.locator('#point-panel').isVisible()).toBe(true);
      expect(await page.locator('#ttft-chart polyline').count()).toBeGreaterThan(0);
      const shot = join(dir, 'report.png');
      const png = await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      // non-blank: the chart area has more than one distinct colour
      const chart = await page.locator('#pareto-chart').screenshot();
      expect(new Set(chart.subarray(100).toString('hex').match(/.{6}/g)).size).toBeGreaterThan(10);
      expect(png.length).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      console.log(`screenshot: ${shot}`);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
