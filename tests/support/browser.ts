import { existsSync, mkdirSync } from 'node:fs';
import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import * as path from 'node:path';
import {
  Browser,
  BrowserContext,
  BrowserContextOptions,
  chromium,
  ConsoleMessage,
  Page,
  Request,
} from 'playwright-core';

/** Debian's chromium: Playwright cannot download its own browsers here (no internet). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Screenshots of the browser tests (ignored by git). */
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless chromium, or fails saying how to get it. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}; the browser tests drive Debian's chromium through ` +
        'playwright-core. `npm test` installs it when run as root (scripts/setup-system.sh --test); ' +
        'otherwise run `sudo apt-get install chromium` (and fonts-nanum for readable Korean screenshots), ' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, `${name}.png`);
}

export interface PageWatch {
  /** console.error messages and failed loads Chrome reports in the console. */
  consoleErrors: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Every URL the page requested outside `origin` (other hosts, other ports, other schemes). */
  foreignRequests: string[];
  /** Every URL the page requested from `origin`. */
  requests: string[];
  /** WebSocket URLs the page opened to another host. */
  foreignSockets: string[];
  /** Empties the lists (between steps that are checked separately). */
  reset(): void;
}

/** Records what a page logs as errors and where it sends requests. */
export function watchPage(page: Page, origin: string): PageWatch {
  const watch: PageWatch = {
    consoleErrors: [],
    pageErrors: [],
    foreignRequests: [],
    requests: [],
    foreignSockets: [],
    reset() {
      watch.consoleErrors.length = 0;
      watch.pageErrors.length = 0;
      watch.foreignRequests.length = 0;
      watch.requests.length = 0;
      watch.foreignSockets.length = 0;
    },
  };
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') watch.consoleErrors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e: Error) => watch.pageErrors.push(e.message));
  page.on('request', (r: Request) => {
    const url = r.url();
    // blob: URLs are the user's own file, read locally; data: URLs never leave the page.
    if (url.startsWith('blob:') || url.startsWith('data:')) return;
    if (new URL(url).origin === origin) watch.requests.push(url);
    else watch.foreignRequests.push(url);
  });
  page.on('websocket', (ws) => {
    // socket.io upgrades to ws:// on the same host and port.
    if (new URL(ws.url()).host !== new URL(origin).host) watch.foreignSockets.push(ws.url());
  });
  return watch;
}

/**
 * Retries `read` until `check` (jest assertions) passes, or fails with the last assertion's message.
 * The page updates asynchronously; this is what Playwright Test's web-first assertions do.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => void,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP relay in front of the service, so a test can restart the server "on the same address": close the
 * app, start another, `retarget()` the relay to it. Open connections are cut, as a restart cuts them.
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private target: number;
  private readonly server: Server;

  private constructor(target: number) {
    this.target = target;
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  /** Starts relaying a free loopback port to `targetUrl`'s port. */
  static async start(targetUrl: string): Promise<TcpRelay> {
    const relay = new TcpRelay(Number(new URL(targetUrl).port));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Cuts every open connection and sends new ones to `targetUrl`. */
  retarget(targetUrl: string): void {
    this.target = Number(new URL(targetUrl).port);
    this.cut();
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A fresh desktop context (1280×900, reduced motion: no transitions half-way through in screenshots) on
 * `url`'s page, watched from its first request; `options` add to or override the context's.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    reducedMotion: 'reduce',
    ...options,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watch = watchPage(page, url);
  await page.goto(`${url}/`);
  return { context, page, watch };
}
