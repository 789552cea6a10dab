/**
 * A real headless Chromium (Debian's `chromium`, installed by .ci/run) driven by playwright-core, with a
 * fresh profile per launch. Where the browser is missing or cannot start, `launchChromium` returns the
 * reason so the test skips with it instead of failing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.SHARDLINE_CHROMIUM ?? '/usr/bin/chromium';

/** Where tests keep what they produce for people to look at (gitignored): `<repo>/test-artifacts`. */
export const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test-artifacts');

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A browser context closed (and its profile deleted) after the test, or the reason there is none. */
export async function launchChromium(t: TestContext): Promise<BrowserContext | { skip: string }> {
  if (!existsSync(CHROMIUM))
    return { skip: `no Chromium at ${CHROMIUM} (install it with: apt-get install -y chromium)` };
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'shardline-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    t.after(async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    });
    return context;
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    return { skip: `Chromium at ${CHROMIUM} did not start: ${(err as Error).message.split('\n')[0]}` };
  }
}
