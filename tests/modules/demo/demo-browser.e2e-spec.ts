import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, Locator, Page } from 'playwright-core';
import request from 'supertest';
import { ChatGenerationRequest, ChatGenerator } from '../../../src/modules/chat/chat-generator';
import { DemoModule } from '../../../src/modules/demo/demo.module';
import { SHARED, startApp, TestApp } from '../../support/app';
import {
  eventually,
  launchBrowser,
  openPage,
  PageWatch,
  screenshotPath,
  TcpRelay,
  watchPage,
} from '../../support/browser';
import { startChatApp } from '../../support/chat-fixtures';
import { solid } from '../../support/images';

const SESSION_KEY = 'ko-ai.chat.sessionId';
const text = (l: Locator) => l.textContent().then((s) => (s ?? '').trim());
const attr = (l: Locator, name: string) => l.getAttribute(name);
/** naturalWidth of an <img>: 0 until a real image has loaded. */
const naturalWidth = (l: Locator) =>
  l.evaluate((img: unknown) => (img as { naturalWidth: number }).naturalWidth);

/** One chromium for the whole file; each test gets its own context (cookies, storage, cache). */
let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/**
 * The demo page in a real browser (Debian's chromium through playwright-core) against the real service:
 * real models, real sockets, real files. Screenshots go to test-output/screenshots/.
 */
describe('demo page in chromium', () => {
  let t: TestApp;
  let page: Page;
  let watch: PageWatch;

  beforeAll(async () => {
    t = await startApp();
    // Reduced motion (openPage): no transitions half-way through in the screenshots (and that path of the CSS runs).
    ({ page, watch } = await openPage(browser, t.url, { locale: 'ko-KR' }));
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  afterEach(() => watch.reset());

  const storedSession = () =>
    page.evaluate<string | null>(`localStorage.getItem(${JSON.stringify(SESSION_KEY)})`);

  /** After each step: nothing logged as an error, nothing thrown, nothing fetched from elsewhere. */
  function expectCleanPage(allowedConsole: RegExp[] = []): void {
    const unexpected = watch.consoleErrors.filter((e) => !allowedConsole.some((re) => re.test(e)));
    expect(unexpected).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
    expect(watch.foreignSockets).toEqual([]);
  }

  it('loads every asset from the service itself, without console errors', async () => {
    expect(await page.title()).toContain('ko-ai-server');
    const paths = watch.requests.map((u) => new URL(u).pathname);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/',
        '/styles.css',
        '/js/main.js',
        '/js/chat.js',
        '/socket.io/socket.io.min.js',
      ]),
    );
    expectCleanPage();
  });

  it('names every control and announces new messages and results', async () => {
    const unnamed = await page.evaluate<
      string[]
    >(`[...document.querySelectorAll('button, input, canvas, output, a')]
      .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80))`);
    expect(unnamed).toEqual([]);
    for (const id of ['#chat-messages', '#digit-result', '#mosaic-compare', '#mosaic-count']) {
      expect(await attr(page.locator(id), 'aria-live')).toBe('polite');
    }
    expect(await attr(page.locator('#chat-messages'), 'role')).toBe('log');
    for (const id of ['#chat-alert', '#digit-alert', '#mosaic-alert']) {
      expect(await attr(page.locator(id), 'role')).toBe('alert');
    }
    expect(await attr(page.locator('html'), 'lang')).toBe('ko');
  });

  it('chats over socket.io: a greeting gets a thank-you, with its source shown', async () => {
    await page.locator('#chat-status[data-state="online"]').waitFor();
    const before = await page.locator('.msg--bot[data-source]').count();
    await page.locator('#chat-input').fill('안녕하세요');
    await page.locator('#chat-input').press('Enter');
    expect(await text(page.locator('.msg--user .msg__text').last())).toBe('안녕하세요');
    const reply = page.locator('.msg--bot[data-source]').nth(before);
    await reply.waitFor();
    expect(await text(reply.locator('.msg__text'))).toContain('감사합니다');
    expect(['retrieval', 'generation', 'fallback']).toContain(await attr(reply, 'data-source'));
    expect(await text(reply.locator('.msg__meta'))).toMatch(/retrieval|generation|fallback/);
    await page.locator('#chat-typing').waitFor({ state: 'hidden' });
    // The session id the server gave is kept for the next visit.
    expect(await storedSession()).toMatch(/\S{8,}/);
    await page.locator('#chat').screenshot({ path: screenshotPath('chat') });
    expectCleanPage();
  });

  it('answers messages sent in quick succession in order, each under its own question', async () => {
    const before = await page.locator('#chat-messages > li').count();
    // Both in the same task, so the second is typed before the first can be answered.
    await page.evaluate(`for (const m of ['고마워요', '잘 자요']) {
      document.getElementById('chat-input').value = m;
      document.getElementById('chat-form').requestSubmit();
    }`);
    await page
      .locator('.msg--bot[data-source]')
      .nth((await page.locator('.msg--user').count()) - 1)
      .waitFor();
    const rows = await page
      .locator('#chat-messages > li')
      .evaluateAll((lis) =>
        lis.map((li) => [
          li.className,
          li.querySelector('.msg__text')?.textContent,
          li.querySelector('.msg__meta')?.getAttribute('title'),
        ]),
      );
    const added = rows.slice(before);
    expect(added.map(([cls]) => cls)).toEqual([
      'msg msg--user',
      'msg msg--user',
      'msg msg--bot',
      'msg msg--bot',
    ]);
    expect(added.slice(0, 2).map(([, t]) => t)).toEqual(['고마워요', '잘 자요']);
    // The corpus intents show which question each answer belongs to.
    expect(added[2][2]).toMatch(/^intent: thanks/);
    expect(added[3][2]).toMatch(/^intent: good_night/);
    expectCleanPage();
  });

  it('shows the conversation the server kept after a reload, in the same session', async () => {
    const id = await storedSession();
    await page.reload();
    await page.locator('#chat-status[data-state="online"]').waitFor();
    await page.locator('.msg--system').first().waitFor();
    expect(await text(page.locator('.msg--system').first())).toContain('이전 대화를 이어가요');
    expect(await text(page.locator('.msg--user .msg__text').first())).toBe('안녕하세요');
    expect(await text(page.locator('.msg--bot[data-source] .msg__text').first())).toContain('감사합니다');
    expect(await storedSession()).toBe(id);
    expect(await attr(page.locator('#chat-session'), 'data-session-id')).toBe(id);
    expectCleanPage();
  });

  /** Draws strokes given in the pad's own 280×280 coordinates with the mouse. */
  async function draw(strokes: [number, number][][]): Promise<void> {
    const box = await page.locator('#digit-canvas').boundingBox();
    if (!box) throw new Error('the drawing pad is not visible');
    const at = ([x, y]: [number, number]) =>
      [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
    for (const stroke of strokes) {
      await page.mouse.move(...at(stroke[0]));
      await page.mouse.down();
      for (const p of stroke.slice(1)) await page.mouse.move(...at(p), { steps: 12 });
      await page.mouse.up();
    }
  }

  async function predictDrawing(strokes: [number, number][][]): Promise<string> {
    await page.locator('#digit-clear').click();
    expect(await text(page.locator('#digit-value'))).toBe('?');
    await draw(strokes);
    await page.locator('#digit-predict').click();
    const value = page.locator('#digit-value[data-digit]');
    await value.waitFor();
    return text(value);
  }

  it('recognises a 1 drawn as one vertical stroke', async () => {
    const one = [
      [
        [140, 45],
        [140, 235],
      ],
    ] as [number, number][][];
    expect(await predictDrawing(one)).toBe('1');
    // Ten bars, the highlighted one for the predicted digit.
    expect(await page.locator('#digit-bars .bar').count()).toBe(10);
    expect(await attr(page.locator('#digit-bars .bar--top'), 'data-digit')).toBe('1');
    expectCleanPage();
  });

  it('recognises a 7 drawn as two strokes', async () => {
    const seven = [
      [
        [70, 60],
        [210, 60],
      ],
      [
        [210, 60],
        [175, 130],
        [130, 235],
      ],
    ] as [number, number][][];
    expect(await predictDrawing(seven)).toBe('7');
    expect(await text(page.locator('#digit-confidence'))).toMatch(/확신도 \d+\.\d%/);
    await page.locator('#digits').screenshot({ path: screenshotPath('digits') });
    expectCleanPage();
  });

  it('asks for a drawing before predicting an empty pad, without calling the server', async () => {
    await page.locator('#digit-clear').click();
    await page.locator('#digit-predict').click();
    const notice = page.locator('#digit-alert[data-kind="notice"]');
    await notice.waitFor();
    expect(await text(notice)).toContain('먼저 숫자를 그려 주세요');
    expect(watch.requests.filter((u) => u.includes('/mnist/predict'))).toEqual([]);
    expectCleanPage();
  });

  it('shows random MNIST samples that predict when clicked', async () => {
    const samples = page.locator('#samples-list .sample');
    await eventually(
      () => samples.count(),
      (n) => expect(n).toBe(12),
    );
    const first = samples.first();
    // The sample images are real PNGs from the dataset.
    await eventually(
      () => naturalWidth(first.locator('img')),
      (w) => expect(w).toBeGreaterThan(0),
    );
    const label = await attr(first, 'data-label');
    await first.click();
    await page.locator('#samples-list .sample[data-predicted]').first().waitFor();
    const predicted = await attr(first, 'data-predicted');
    expect(predicted).toMatch(/^\d$/);
    expect(await text(page.locator('#digit-value'))).toBe(predicted);
    expect(await text(first.locator('.sample__label'))).toContain(`정답 ${label} · 예측 ${predicted}`);
    expectCleanPage();
  });

  it('blurs the faces of a photo: mosaic beside the original with the boxes over it', async () => {
    await page.locator('#mosaic-file').setInputFiles(path.join(SHARED, 'faces', 'two_people.jpg'));
    const count = page.locator('#mosaic-count[data-count]');
    await count.waitFor();
    const faces = Number(await attr(count, 'data-count'));
    expect(faces).toBeGreaterThanOrEqual(1);
    expect(await text(count)).toBe(`얼굴 ${faces}개`);
    expect(await page.locator('#mosaic-boxes .face-box').count()).toBe(faces);

    const result = page.locator('#mosaic-result');
    await result.waitFor({ state: 'visible' });
    expect(await naturalWidth(result)).toBeGreaterThan(0);
    const original = page.locator('#mosaic-original');
    await original.waitFor({ state: 'visible' });

    // The boxes are drawn over the displayed original, scaled to its size.
    const img = (await original.boundingBox())!;
    for (const box of await page.locator('#mosaic-boxes .face-box').all()) {
      const b = (await box.boundingBox())!;
      expect(b.width).toBeGreaterThan(4);
      expect(b.x).toBeGreaterThanOrEqual(img.x - 1);
      expect(b.y).toBeGreaterThanOrEqual(img.y - 1);
      expect(b.x + b.width).toBeLessThanOrEqual(img.x + img.width + 1);
      expect(b.y + b.height).toBeLessThanOrEqual(img.y + img.height + 1);
    }

    // The download link points at the mosaic the service wrote, and it is an image.
    const download = page.locator('#mosaic-download');
    await download.waitFor({ state: 'visible' });
    const href = await attr(download, 'href');
    expect(href).toMatch(/^\/outputs\/[\w.-]+$/);
    const file = await request(t.url).get(href!).expect(200);
    expect(file.headers['content-type']).toMatch(/^image\//);
    await page.locator('#mosaic').screenshot({ path: screenshotPath('mosaic') });
    await page.screenshot({ path: screenshotPath('desktop-full'), fullPage: true });
    expectCleanPage();
  });

  it('redoes the mosaic when the block size changes', async () => {
    const before = await attr(page.locator('#mosaic-download'), 'href');
    const answered = page.waitForResponse(
      (r) => r.url().includes('/mosaic?') && r.url().includes('blocks=48'),
    );
    // As a keyboard user would: focus the slider, End jumps to the largest block size.
    await page.locator('#mosaic-blocks').focus();
    await page.keyboard.press('End');
    expect(await text(page.locator('#mosaic-blocks-value'))).toBe('48');
    expect((await answered).status()).toBe(200);
    await eventually(
      () => text(page.locator('#mosaic-latency')),
      (s) => expect(s).toContain('48칸'),
    );
    expect(await attr(page.locator('#mosaic-download'), 'href')).not.toBe(before);
    expectCleanPage();
  });

  it('explains in Korean when the "photo" is not an image, with the server message in small print', async () => {
    await page.locator('#mosaic-file').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('이건 사진이 아니에요 — just some text\n'),
    });
    const alert = page.locator('#mosaic-alert[data-kind="error"]');
    await alert.waitFor();
    expect(await attr(alert, 'data-status')).toBe('415');
    expect(await text(alert.locator('.alert__title'))).toBe('이미지 파일이 아니에요.');
    expect(await text(alert.locator('.alert__detail'))).toContain('not a supported image');
    // Nothing from the previous photo is left on screen as if it were this one's result.
    expect(await text(page.locator('#mosaic-count'))).toBe('');
    expect(await page.locator('#mosaic-download').isHidden()).toBe(true);
    await page.locator('#mosaic').screenshot({ path: screenshotPath('mosaic-error') });
    // Chrome reports the refused upload itself as a failed load; nothing else may be logged.
    expectCleanPage([/status of 415/]);
  });

  it('says so when the photo has no face, and when an image has no digit', async () => {
    const blank = await solid(320, 240, [235, 235, 235]).png().toBuffer();
    await page
      .locator('#mosaic-file')
      .setInputFiles({ name: 'wall.png', mimeType: 'image/png', buffer: blank });
    const notice = page.locator('#mosaic-alert[data-kind="notice"]');
    await notice.waitFor();
    expect(await text(notice.locator('.alert__title'))).toBe('얼굴을 찾지 못했어요.');
    expect(await attr(page.locator('#mosaic-count'), 'data-count')).toBe('0');
    expect(await text(page.locator('#mosaic-count'))).toBe('얼굴 0개');

    await page
      .locator('#digit-file')
      .setInputFiles({ name: 'blank.png', mimeType: 'image/png', buffer: blank });
    const alert = page.locator('#digit-alert[data-kind="error"]');
    await alert.waitFor();
    expect(await attr(alert, 'data-status')).toBe('422');
    expect(await text(alert.locator('.alert__title'))).toContain('숫자를 찾지 못했어요');
    expect(await text(alert.locator('.alert__detail'))).toContain('no digit');
    expect(await text(page.locator('#digit-value'))).toBe('?');
    expectCleanPage([/status of 422/]);
  });

  it('takes a photo dropped on the drop zone', async () => {
    const photo = readFileSync(path.join(SHARED, 'faces', 'obama-480p.jpg')).toString('base64');
    // A real drop event carrying a File, as the browser makes it when a file is dragged in.
    const dataTransfer = await page.evaluateHandle(
      `(() => { const bytes = Uint8Array.from(atob(${JSON.stringify(photo)}), (c) => c.charCodeAt(0));
        const dt = new DataTransfer(); dt.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }));
        return dt; })()`,
    );
    await page.locator('#mosaic-drop').dispatchEvent('dragover', { dataTransfer });
    expect(await page.locator('#mosaic-drop.dropzone--over').count()).toBe(1);
    await page.locator('#mosaic-drop').dispatchEvent('drop', { dataTransfer });
    await eventually(
      () => attr(page.locator('#mosaic-count'), 'data-count'),
      (n) => expect(Number(n)).toBeGreaterThanOrEqual(1),
    );
    expect(await attr(page.locator('#mosaic-download'), 'download')).toBe('dropped-mosaic.jpg');
    expect(await page.locator('#mosaic-drop.dropzone--over').count()).toBe(0);
    expectCleanPage();
  });

  it('starts a new conversation with a new session', async () => {
    const old = await storedSession();
    expect(old).toBeTruthy();
    await page.locator('#chat-new').click();
    expect(await page.locator('.msg--user').count()).toBe(0);
    const fresh = await eventually(
      () => storedSession(),
      (id) => {
        expect(id).toBeTruthy();
        expect(id).not.toBe(old);
      },
    );
    expect(await attr(page.locator('#chat-session'), 'data-session-id')).toBe(fresh);
    await page.locator('#chat-status[data-state="online"]').waitFor();
    expectCleanPage();
  });

  it('fits a phone-width screen', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      reducedMotion: 'reduce',
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ko-KR',
    });
    try {
      const p = await phone.newPage();
      const w = watchPage(p, t.url);
      await p.goto(`${t.url}/`);
      await p.locator('#chat-status[data-state="online"]').waitFor();
      await p.locator('#samples-list .sample').first().waitFor();
      // Used as on a phone: a message, a photo.
      await p.locator('#chat-input').fill('고마워요');
      await p.locator('#chat-send').tap();
      await p.locator('.msg--bot[data-source]').first().waitFor();
      await p.locator('#mosaic-file').setInputFiles(path.join(SHARED, 'faces', 'obama.jpg'));
      await p.locator('#mosaic-count[data-count]').waitFor();
      await p.locator('#mosaic-result').waitFor({ state: 'visible' });
      // No horizontal scrolling: every panel fits the width.
      const overflow = await p.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(0);
      for (const id of ['#chat', '#digits', '#mosaic', '#digit-canvas', '#chat-send', '#mosaic-result']) {
        const b = (await p.locator(id).boundingBox())!;
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.x + b.width).toBeLessThanOrEqual(390);
      }
      await p.screenshot({ path: screenshotPath('phone-full'), fullPage: true });
      expect(w.consoleErrors).toEqual([]);
      expect(w.pageErrors).toEqual([]);
      expect(w.foreignRequests).toEqual([]);
      expect(w.foreignSockets).toEqual([]);
    } finally {
      await phone.close();
    }
  });
});

describe('demo chat across a server restart', () => {
  let a: TestApp | undefined;
  let b: TestApp | undefined;
  let relay: TcpRelay;

  beforeAll(async () => {
    a = await startApp();
    // The page talks to a fixed address; the server behind it is replaced.
    relay = await TcpRelay.start(a.url);
  }, 120_000);

  afterAll(async () => {
    await relay?.close();
    await a?.close();
    await b?.close();
  });

  it('reconnects by itself and carries on in the same session', async () => {
    const { context, page, watch } = await openPage(browser, relay.url);
    const status = page.locator('#chat-status');
    await page.locator('#chat-status[data-state="online"]').waitFor();
    await page.locator('#chat-input').fill('안녕하세요');
    await page.locator('#chat-input').press('Enter');
    await page.locator('.msg--bot[data-source]').first().waitFor();
    const session = await page.evaluate<string | null>(
      `localStorage.getItem(${JSON.stringify(SESSION_KEY)})`,
    );
    expect(session).toBeTruthy();

    // The server stops: the page says it is reconnecting.
    await a!.close();
    a = undefined;
    await page.locator('#chat-status[data-state="reconnecting"]').waitFor();
    expect(await text(status)).toBe('다시 연결 중…');

    // A new server process (empty memory) comes up at the same address.
    b = await startApp();
    relay.retarget(b.url);
    await page.locator('#chat-status[data-state="online"]').waitFor({ timeout: 30_000 });
    expect(await attr(page.locator('#chat-session'), 'data-session-id')).toBe(session);
    expect(await text(page.locator('.msg--system').last())).toContain('다시 연결됐어요');

    await page.locator('#chat-input').fill('고마워요');
    await page.locator('#chat-input').press('Enter');
    await page.locator('.msg--bot[data-source]').nth(1).waitFor();
    // The new server filed the message under the session the page kept.
    const history = await request(b.url).get(`/chat/sessions/${session}`).expect(200);
    expect(history.body.turns.map((turn: { user: string }) => turn.user)).toEqual(['고마워요']);
    expect(await page.evaluate<string | null>(`localStorage.getItem(${JSON.stringify(SESSION_KEY)})`)).toBe(
      session,
    );

    // While the server was down, only socket.io's own retries failed.
    expect(watch.consoleErrors.filter((e) => !/socket\.io|WebSocket/.test(e))).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
    await page.locator('#chat').screenshot({ path: screenshotPath('chat-after-restart') });
    await context.close();
  }, 90_000);
});

/**
 * Token-by-token rendering of a generated answer. The page is what is tested here: the generator behind
 * CHAT_GENERATOR is a paced stand-in (a word every 150 ms), so the test sees every stage without a model.
 */
class PacedGenerator implements ChatGenerator {
  readonly ready = true;
  readonly words = ['생성된 ', '답변이 ', '한 ', '토큰씩 ', '나타나요.'];
  async generate(req: ChatGenerationRequest): Promise<{ text: string; tokens: number }> {
    for (const [i, word] of this.words.entries()) {
      await new Promise((r) => setTimeout(r, 150));
      req.onToken?.(word, i);
    }
    return { text: this.words.join(''), tokens: this.words.length };
  }
}

describe('demo chat showing a generated answer', () => {
  let t: TestApp;
  const generator = new PacedGenerator();

  beforeAll(async () => {
    // The page's streaming, not the policy: the message (a knowledge request) must reach the generator.
    t = await startChatApp(
      { CHAT_OUT_OF_SCOPE_FILE: 'none', CHAT_EMBEDDER: 'hashed-ngram' },
      { generator, imports: [DemoModule] },
    );
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('shows the typing indicator, then the answer growing token by token, then its source', async () => {
    const { context, page, watch } = await openPage(browser, t.url);
    await page.locator('#chat-status[data-state="online"]').waitFor();
    // Every state the streaming bubble goes through, as the page renders it.
    await page.evaluate(`(() => {
      window.__stream = [];
      new MutationObserver(() => {
        const el = document.querySelector('.msg--streaming .msg__text');
        if (el && window.__stream.at(-1) !== el.textContent) window.__stream.push(el.textContent);
      }).observe(document.getElementById('chat-messages'), { subtree: true, childList: true, characterData: true });
    })()`);
    await page.locator('#chat-input').fill('양자역학의 불확정성 원리를 수식으로 증명해 주세요');
    await page.locator('#chat-input').press('Enter');
    await page.locator('#chat-typing').waitFor({ state: 'visible' });
    await page.locator('.msg--streaming').waitFor();
    // Once the first token is on screen the bubble itself shows progress; the dots go.
    expect(await page.locator('#chat-typing').isHidden()).toBe(true);
    const reply = page.locator('.msg--bot[data-source="generation"]');
    await reply.waitFor();
    const full = generator.words.join('');
    expect(await text(reply.locator('.msg__text'))).toBe(full);
    expect(await text(reply.locator('.msg__meta'))).toMatch(/^생성 generation · \d+ ms$/);
    expect(await page.locator('.msg--streaming').count()).toBe(0);

    const stages = await page.evaluate<string[]>('window.__stream');
    // Each word appeared on its own, in order: ['생성된 ', '생성된 답변이 ', …].
    const prefixes = generator.words.map((_, i) => generator.words.slice(0, i + 1).join(''));
    expect(stages.filter((s) => s !== '')).toEqual(prefixes);
    await page.locator('#chat').screenshot({ path: screenshotPath('chat-generated') });
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await context.close();
  });
});

describe('demo page when a model and the dataset are missing, with a small upload limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({
      MNIST_MODEL: 'no-such-model',
      MNIST_DIR: path.join(SHARED, 'no-such-mnist'),
      UPLOAD_MAX_BYTES: '64kb',
    });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('says when the model or the data is not ready, or the photo too large, with the server message in small print', async () => {
    const { context, page, watch } = await openPage(browser, t.url);
    // The samples strip cannot load: the dataset is missing.
    const alert = page.locator('#digit-alert[data-status="503"]');
    await alert.waitFor();
    expect(await text(alert.locator('.alert__title'))).toBe('데이터셋이 아직 준비되지 않았어요.');
    expect(await text(alert.locator('.alert__detail'))).toContain('MNIST_DIR');
    expect(await text(page.locator('#samples-list'))).toContain('샘플을 불러오지 못했어요');

    // Predicting needs the classifier, which is missing too.
    const small = await solid(64, 64).png().toBuffer();
    await page
      .locator('#digit-file')
      .setInputFiles({ name: 'digit.png', mimeType: 'image/png', buffer: small });
    await eventually(
      () => text(alert.locator('.alert__title')),
      (title) => expect(title).toBe('모델이 아직 준비되지 않았어요.'),
    );
    expect(await text(alert.locator('.alert__detail'))).toMatch(
      /^503 · Model ".+" \(image-classification\) is not installed/,
    );
    await page.locator('#digits').screenshot({ path: screenshotPath('digits-no-model') });

    // A photo over UPLOAD_MAX_BYTES (64 KiB here).
    await page.locator('#mosaic-file').setInputFiles(path.join(SHARED, 'faces', 'obama-480p.jpg'));
    const tooLarge = page.locator('#mosaic-alert[data-status="413"]');
    await tooLarge.waitFor();
    expect(await text(tooLarge.locator('.alert__title'))).toBe('이미지가 너무 커요.');
    expect(await text(tooLarge.locator('.alert__detail'))).toMatch(/^413 · .+/);
    expect(await page.locator('#mosaic-download').isHidden()).toBe(true);
    await page.locator('#mosaic').screenshot({ path: screenshotPath('mosaic-too-large') });
    expect(watch.consoleErrors.filter((e) => !/status of (503|413)/.test(e))).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    await context.close();
  });
});

describe('demo page with API keys on', () => {
  const KEY = 'demo-key-0123456789abcdef';
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ API_KEYS: KEY, AUTH_FAILURES_PER_MIN: '10000', CHAT_EMBEDDER: 'hashed-ngram' });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('asks for the key, keeps it for the tab, then chats over socket.io and shows the sample images', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ko-KR' });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(`${t.url}/`);
      // The page itself is open; the API answers 401 and the page shows the key field.
      await page.locator('#api-key-form').waitFor();
      expect(await text(page.locator('#api-key-note'))).toContain('API 키');
      await page.locator('#chat-status[data-state="offline"]').waitFor();
      await page.locator('#api-key').fill(KEY);
      await Promise.all([page.waitForLoadState('load'), page.locator('#api-key-form button').click()]);
      expect(await page.evaluate(`sessionStorage.getItem('ko-ai-api-key')`)).toBe(KEY);
      await page.locator('#chat-status[data-state="online"]').waitFor();
      await page.locator('#chat-input').fill('안녕하세요');
      await page.locator('#chat-input').press('Enter');
      const reply = page.locator('.msg--bot[data-source]').last();
      await reply.waitFor();
      expect(await text(reply.locator('.msg__text'))).toContain('감사합니다');
      // <img> cannot send the key: the page fetches each image with it and shows it from a blob: URL.
      const img = page.locator('#samples-list .sample img').first();
      await eventually(
        () => naturalWidth(img),
        (w) => expect(w).toBeGreaterThan(0),
      );
      expect(await attr(img, 'src')).toMatch(/^blob:/);
      await page.screenshot({ path: screenshotPath('demo-api-key') });
    } finally {
      await context.close();
    }
  });
});
