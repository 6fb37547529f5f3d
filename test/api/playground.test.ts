// The playground page in a real headless Chromium (Debian's, driven by playwright-core): pick a language,
// write a program, give stdin, Run, and read the verdict, output, time and memory it shows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { apiSuite } from './apiHarness.js';

const suite = apiSuite();
const CHROMIUM = '/usr/bin/chromium';

let browser: BrowserContext | undefined;
let profile: string | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** A fresh profile directory each time (playwright passes it as --user-data-dir). */
async function launch(): Promise<BrowserContext> {
  profile = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('playground', () => {
  it('runs a program in Chromium and shows its verdict, stdout, time and memory; a wrong program shows its failure', async () => {
    const api = await suite.start({ workers: 1 });
    browser = await launch();
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(api.url);
    await expect.poll(() => page.locator('#language option').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    expect(await page.locator('#language option[value="python"]').textContent()).toMatch(/^python \d+\.\d+\.\d+$/);
    expect(await page.locator('#language option[value="cpp"]').textContent()).toContain('(compiled)');

    await page.selectOption('#language', 'python');
    await page.fill('#code', 'name = input()\nprint(f"hello, {name}")');
    await page.fill('#stdin', 'chromium');
    await page.click('#run');
    await page.locator('#state', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    expect(await page.textContent('#verdict')).toBe('accepted');
    expect(await page.textContent('#stdout')).toBe('hello, chromium\n');
    expect(await page.textContent('#time')).toMatch(/^\d+ ms$/);
    expect(await page.textContent('#memory')).toMatch(/^\d+ KB$/);

    await page.selectOption('#language', 'c');
    expect(await page.inputValue('#code')).toContain('#include');
    await page.fill('#code', 'int main(void) { return 7 }');
    await page.click('#run');
    await page.locator('#state', { hasText: 'finished' }).waitFor({ timeout: 30_000 });
    expect(await page.textContent('#verdict')).toBe('compile_error');
    expect(await page.textContent('#message')).toContain('error');
    expect(problems).toEqual([]);
  });
});
