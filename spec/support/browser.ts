import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/**
 * Headless Chromium for the end-to-end specs: Debian's `chromium` package
 * driven by playwright-core (which never downloads a browser of its own).
 * `.ci/run` installs the package and sets REQUIRE_BROWSER=1, so there a
 * browser that cannot start fails the run; elsewhere the spec is skipped
 * with a loud notice.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const REQUIRE_BROWSER = process.env.REQUIRE_BROWSER === '1';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile directory (removed by `close()`). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} does not exist (apt-get install chromium, or set CHROMIUM_PATH)`);
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kc-chromium-'));
  try {
    // launchPersistentContext passes the profile as --user-data-dir.
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Where a spec leaves what a person would look at (screenshots). */
export function outputDirectory(spec: string): string {
  const dir = path.resolve(__dirname, '..', '..', '..', 'test-output', spec);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
