import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { keyEntry, writeKeysFile } from './support/api-keys';
import { SandboxApp, startSandboxApp } from './support/sandbox-app';

const ROOT = resolve(__dirname, '..');
/** Debian's chromium, which `npm test` installs (scripts/ensure-ready.sh --with-browser). */
const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshots are kept for a person to look at after the run. */
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'playground');
const KEY = 'playground-key-0123456789';
const DEFAULT_IMAGE = process.env.SANDBOX_IMAGE ?? 'brain-net-sandbox-runtime:3.11';
const MINIMAL_IMAGE = process.env.SANDBOX_MINIMAL_IMAGE ?? 'brain-net-sandbox-runtime-minimal:3.11';
const RUNTIMES = `python-3.11=${DEFAULT_IMAGE},python-3.11-minimal=${MINIMAL_IMAGE}`;
const RUN_TIMEOUT_MS = 45_000;

/** The text of the element, '' when it is absent. */
async function textOf(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? '').catch(() => '');
}

/** Puts `code` in the editor, replacing what is there. */
async function typeCode(page: Page, code: string): Promise<void> {
  await page.click('.cm-content');
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  // Inserted as text, as a paste is: the editor adds no indentation or closing brackets.
  await page.keyboard.sendCharacter(code);
  expect(await page.$eval('.cm-content', (content) => (content as HTMLElement).innerText)).toBe(
    code,
  );
}

async function setField(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (element, text) => {
      (element as HTMLTextAreaElement).value = text;
    },
    value,
  );
}

/** Clicks Run and waits for the run's final badge: one of the finished statuses. */
async function runAndWait(page: Page): Promise<string> {
  const before = await page.$eval('#summary', (element) => element.textContent);
  await page.click('#run');
  await page.waitForFunction(
    (previous) => {
      const summary = document.querySelector('#summary');
      const run = document.querySelector<HTMLButtonElement>('#run');
      return (
        summary?.textContent !== previous &&
        run?.disabled === false &&
        /^(completed|failed|timeout|cancelled)/.test(summary?.textContent ?? '')
      );
    },
    { timeout: RUN_TIMEOUT_MS },
    before,
  );
  return textOf(page, '#summary .badge');
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A new tab, with what it requested and the errors it logged, both checked by the specs. */
async function openTab(browser: Browser): Promise<{
  page: Page;
  requested: string[];
  pageErrors: string[];
}> {
  const page = await browser.newPage();
  const requested: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    // A 401 the page answers by asking for the key is logged by the browser itself.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) {
      pageErrors.push(message.text());
    }
  });
  return { page, requested, pageErrors };
}

/**
 * A reverse proxy on loopback that serves `target` under `/sandbox`, as an ingress with a
 * path prefix does: it strips the prefix and streams both ways (live output included).
 */
async function prefixProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (!path.startsWith('/sandbox/')) {
      response.writeHead(404).end();
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: path.slice('/sandbox'.length),
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sandbox`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: scripts/ensure-ready.sh --with-browser installs it`);
  }
  // The page as `npm run build` bundles it, from these sources.
  execFileSync(process.execPath, ['scripts/build-playground.mjs'], { cwd: ROOT });
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in CI: chromium's own sandbox needs a user namespace it may not get.
    args: ['--no-sandbox', '--disable-gpu', '--window-size=1400,1000'],
    defaultViewport: { width: 1400, height: 1000 },
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Issue 18: the playground page, driven in Debian's chromium against the real engine. */
describe('GET /playground in a real browser (AUTH_MODE=api-key, real Docker engine)', () => {
  let directory: string;
  let sandbox: SandboxApp;
  let page: Page;
  let requested: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sandbox-playground-'));
    const keysFile = writeKeysFile(directory, [keyEntry('person', KEY, 'tenant-p')]);
    sandbox = await startSandboxApp({ AUTH_MODE: 'api-key', API_KEYS_FILE: keysFile });
    ({ page, requested, pageErrors } = await openTab(browser));
  }, 120_000);

  afterAll(async () => {
    await page?.close();
    await sandbox?.close();
    await sandbox?.containersSettle();
    rmSync(directory, { recursive: true, force: true });
  });

  it('is served with its own strict rules and revalidated by ETag', async () => {
    const page = await sandbox.http.get('/playground').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const etag = String(page.headers['etag']);
    await sandbox.http.get('/playground').set('If-None-Match', etag).expect(304);
    await sandbox.http
      .get('/playground/playground.js')
      .expect(200)
      .expect('Content-Type', /javascript/);
    const missing = await sandbox.http.get('/playground/secrets.txt').expect(404);
    expect((missing.body as { code: string }).code).toBe('ROUTE_NOT_FOUND');
  });

  it('asks for the API key, keeps it in session storage only, and loads the runtimes with it', async () => {
    await page.goto(`${sandbox.url}/playground`, { waitUntil: 'networkidle0' });
    await page.waitForSelector('#key-dialog[open]');
    await screenshot(page, '1-asks-for-key');
    await page.type('#key-input', 'not-the-key-0123456789');
    await page.click('#key-form button[type=submit]');
    // A wrong key is refused by the service, and the page asks again, saying why.
    await page.waitForFunction(() => {
      const problem = document.querySelector<HTMLElement>('#key-problem');
      return document.querySelector('#key-dialog[open]') && problem && !problem.hidden;
    });
    await page.$eval('#key-input', (input) => ((input as HTMLInputElement).value = ''));
    await page.type('#key-input', KEY);
    await page.click('#key-form button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('#key-dialog[open]'));
    await page.waitForFunction(() => document.querySelectorAll('#runtime option').length > 0);
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('brain-net-sandbox.api-key'),
      local: localStorage.length,
      cookie: document.cookie,
    }));
    expect(stored).toEqual({ session: KEY, local: 0, cookie: '' });
    expect(await textOf(page, '#key-state')).toContain('API key set');
  });

  it('runs code that prints, showing its output live, then status, timings, resources and variables', async () => {
    const csv = join(directory, 'prices.csv');
    writeFileSync(csv, 'item,price\napple,3\npear,5\n');
    await typeCode(
      page,
      [
        'import sys, time',
        'print("first", input_data["n"], flush=True)',
        'time.sleep(2)',
        'print("stdin says", sys.stdin.read().strip())',
        'print(open("prices.csv").read().splitlines()[2])',
        'doubled = input_data["n"] * 2',
      ].join('\n'),
    );
    await setField(page, '#input-data', '{"n": 21}');
    await setField(page, '#stdin', 'hello from stdin');
    const fileInput = await page.$('input#files');
    await fileInput?.uploadFile(csv);
    await page.click('#run');
    // Live: the first line is on the page while the run still sleeps, before the second.
    await page.waitForFunction(
      () => (document.querySelector('#output')?.textContent ?? '').includes('first 21'),
      { timeout: RUN_TIMEOUT_MS },
    );
    const whileRunning = {
      output: await textOf(page, '#output'),
      badge: await textOf(page, '#summary .badge'),
    };
    await screenshot(page, '2-output-live');
    expect(whileRunning.output).not.toContain('stdin says');
    expect(whileRunning.badge).toBe('running');
    await page.waitForFunction(
      () => /^completed/.test(document.querySelector('#summary')?.textContent ?? ''),
      {
        timeout: RUN_TIMEOUT_MS,
      },
    );
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#run')?.disabled);
    expect(await textOf(page, '#output')).toBe('first 21\nstdin says hello from stdin\npear,5\n');
    expect(await textOf(page, '#summary')).toMatch(/exit 0/);
    expect(await textOf(page, '#summary .timings')).toMatch(
      /^\d+ ms total: queued \d+, container start \d+, run \d+, code [\d.]+ ms$/,
    );
    expect(await textOf(page, '#summary .resources')).toMatch(
      /^peak memory [\d.]+ (KiB|MiB), CPU [\d.]+ ms$/,
    );
    const variables = await page.$$eval('#variables tbody tr', (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
    );
    expect(variables).toContainEqual(['doubled', 'int', '42']);
    await screenshot(page, '3-completed');
  });

  it('marks the failing line in the editor and shows the exception', async () => {
    await typeCode(
      page,
      ['values = [1, 2, 3]', 'total = sum(values)', 'ratio = total / 0', 'print(ratio)'].join('\n'),
    );
    await setField(page, '#files', '');
    expect(await runAndWait(page)).toBe('failed');
    expect(await textOf(page, '#error strong')).toBe('ZeroDivisionError: division by zero');
    expect(await textOf(page, '#error')).toContain('(line 3)');
    expect(await textOf(page, '#error pre')).toContain('main.py:3 in <module>');
    // One line marked, the one that raised.
    const marked = await page.$$eval('.cm-failing-line', (lines) =>
      lines.map((line) => line.textContent),
    );
    expect(marked).toEqual(['ratio = total / 0']);
    await screenshot(page, '4-failing-line');
  });

  it('shows a figure, a DataFrame as a table, and downloads a file the code wrote', async () => {
    await typeCode(
      page,
      [
        'import os',
        'import matplotlib.pyplot as plt',
        'import pandas as pd',
        'frame = pd.DataFrame({"x": [1, 2, 3], "y": [1, 4, 9]})',
        'plt.plot(frame.x, frame.y)',
        'plt.title("Squares")',
        'os.makedirs("out", exist_ok=True)',
        'frame.to_csv("out/squares.csv", index=False)',
      ].join('\n'),
    );
    expect(await runAndWait(page)).toBe('completed');
    expect(await page.$$('.cm-failing-line')).toHaveLength(0);
    // The figure's PNG was fetched with the key and decoded by the browser.
    await page.waitForFunction(
      () => (document.querySelector<HTMLImageElement>('#figures img')?.naturalWidth ?? 0) > 0,
    );
    const figure = await page.$eval('#figures img', (image) => ({
      width: image.naturalWidth,
      height: image.naturalHeight,
      alt: image.alt,
      src: image.src,
    }));
    expect(figure).toMatchObject({ width: 640, height: 480, alt: 'Squares' });
    expect(figure.src).toMatch(/^blob:/);
    const table = await page.$$eval('#variables table.dataframe tr', (rows) =>
      rows.map((row) => [...row.querySelectorAll('th, td')].map((cell) => cell.textContent)),
    );
    expect(table).toEqual([
      ['', 'x', 'y'],
      ['0', '1', '1'],
      ['1', '2', '4'],
      ['2', '3', '9'],
    ]);
    await screenshot(page, '5-figure-dataframe-file');
    const downloads = join(directory, 'downloads');
    mkdirSync(downloads);
    const session = await page.createCDPSession();
    await session.send('Browser.setDownloadBehavior', {
      behavior: 'allow',
      downloadPath: downloads,
    });
    await page.click('#output-files button');
    const saved = join(downloads, 'squares.csv');
    for (let waited = 0; !existsSync(saved) && waited < 10_000; waited += 100) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    expect(readdirSync(downloads)).toEqual(['squares.csv']);
    expect(readFileSync(saved, 'utf8')).toBe('x,y\n1,1\n2,4\n3,9\n');
  });

  it('cancels a running execution', async () => {
    await typeCode(
      page,
      ['import time', 'print("started", flush=True)', 'time.sleep(60)'].join('\n'),
    );
    await page.click('#run');
    await page.waitForFunction(
      () => (document.querySelector('#output')?.textContent ?? '').includes('started'),
      {
        timeout: RUN_TIMEOUT_MS,
      },
    );
    await page.click('#cancel');
    await page.waitForFunction(
      () => /^cancelled/.test(document.querySelector('#summary')?.textContent ?? ''),
      {
        timeout: RUN_TIMEOUT_MS,
      },
    );
  });

  it('lists recent executions and reopens one with its code, inputs and result', async () => {
    await page.click('#refresh-recent');
    await page.waitForFunction(() => document.querySelectorAll('#recent li').length >= 4);
    const statuses = await page.$$eval('#recent li .badge', (badges) =>
      badges.map((badge) => badge.textContent),
    );
    // Newest first: the cancelled run, the figure, the failure, the printing run.
    expect(statuses.slice(0, 4)).toEqual(['cancelled', 'completed', 'failed', 'completed']);
    await page.click('#recent li:nth-child(3) button');
    await page.waitForFunction(() =>
      /^failed/.test(document.querySelector('#summary')?.textContent ?? ''),
    );
    await page.waitForFunction(() => document.querySelectorAll('.cm-failing-line').length === 1);
    expect(await textOf(page, '.cm-content')).toContain('ratio = total / 0');
    expect(await textOf(page, '#error strong')).toBe('ZeroDivisionError: division by zero');
    // The printing run, reopened: its stdin and input_data are back in their fields.
    await page.click('#recent li:nth-child(4) button');
    await page.waitForFunction(() =>
      /^completed/.test(document.querySelector('#summary')?.textContent ?? ''),
    );
    expect(await page.$eval('#stdin', (field) => (field as HTMLTextAreaElement).value)).toBe(
      'hello from stdin',
    );
    expect(
      JSON.parse(await page.$eval('#input-data', (field) => (field as HTMLTextAreaElement).value)),
    ).toEqual({ n: 21 });
    expect(await textOf(page, '#output')).toBe('first 21\nstdin says hello from stdin\npear,5\n');
    await screenshot(page, '6-reopened');
  });

  it('forgets the key on request, and made no request but to this service', async () => {
    await page.click('#forget-key');
    await page.waitForSelector('#key-dialog[open]');
    // The key is gone; what remains is the draft of the code, which is no secret of the service's.
    expect(
      await page.evaluate(() =>
        Object.keys(sessionStorage).filter((key) => key !== 'brain-net-sandbox.draft'),
      ),
    ).toEqual([]);
    // Offline-ready: the page, its script and styles, and the API: nothing from elsewhere.
    const elsewhere = requested.filter(
      (url) => !url.startsWith(`${sandbox.url}/`) && !url.startsWith('blob:'),
    );
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

describe('GET /playground with auth off and two runtimes (real Docker engine)', () => {
  let sandbox: SandboxApp;
  let page: Page;
  let requested: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    sandbox = await startSandboxApp({ SANDBOX_RUNTIMES: RUNTIMES });
    ({ page, requested, pageErrors } = await openTab(browser));
    await page.goto(`${sandbox.url}/playground`, { waitUntil: 'networkidle0' });
  }, 120_000);

  afterAll(async () => {
    await page?.close();
    await sandbox?.close();
    await sandbox?.containersSettle();
  });

  it('asks for no key, and offers the runtimes to pick from, the default first', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#runtime option').length === 2);
    expect(await page.$('#key-dialog[open]')).toBeNull();
    expect(await page.$eval('button#forget-key', (button) => button.hidden)).toBe(true);
    expect(await page.$eval('label#runtime-field', (field) => field.hidden)).toBe(false);
    const options = await page.$$eval('#runtime option', (all) =>
      all.map((option) => [option.value, option.selected]),
    );
    expect(options).toEqual([
      ['python-3.11', true],
      ['python-3.11-minimal', false],
    ]);
  });

  it('runs in the runtime picked, and names the one that has a missing module', async () => {
    await typeCode(page, 'import pandas\nprint(pandas.__version__)');
    await page.select('#runtime', 'python-3.11-minimal');
    expect(await runAndWait(page)).toBe('failed');
    expect(await textOf(page, '#summary')).toContain('python-3.11-minimal');
    expect(await textOf(page, '#error strong')).toBe(
      "ModuleNotFoundError: No module named 'pandas'",
    );
    expect(await textOf(page, '#error p')).toBe(
      'pandas is in the runtime python-3.11: pick it above.',
    );
    await screenshot(page, '7-module-hint');
    await page.select('#runtime', 'python-3.11');
    expect(await runAndWait(page)).toBe('completed');
    expect(await textOf(page, '#output')).toMatch(/^\d+\.\d+/);
  });

  it('profiles a run on request: the functions that took the time, by name and line', async () => {
    await typeCode(
      page,
      [
        'def slow_sum(n):',
        '    return sum(i * i for i in range(n))',
        'print(slow_sum(300000))',
      ].join('\n'),
    );
    await page.click('#profile');
    expect(await runAndWait(page)).toBe('completed');
    const functions = await page.$$eval('#profile-result table.functions tbody tr', (rows) =>
      rows.map((row) =>
        [...row.querySelectorAll('td')].slice(0, 2).map((cell) => cell.textContent),
      ),
    );
    expect(functions).toContainEqual(['slow_sum', 'main.py:1']);
    expect(await textOf(page, '#profile-result')).toMatch(/^Peak traced memory /);
    await screenshot(page, '8-profile');
    await page.click('#profile');
  });

  it('stops a run at the timeout the person sets', async () => {
    await typeCode(page, 'import time\ntime.sleep(30)');
    await setField(page, '#timeout', '1');
    expect(await runAndWait(page)).toBe('timeout');
    await setField(page, '#timeout', '');
  });

  it('works behind a proxy that serves the service under a path prefix', async () => {
    const proxy = await prefixProxy(sandbox.url);
    const tab = await openTab(browser);
    try {
      // With a trailing slash, the relative redirect lands on the page under the prefix.
      await tab.page.goto(`${proxy.url}/playground/`, { waitUntil: 'networkidle0' });
      expect(tab.page.url()).toBe(`${proxy.url}/playground`);
      await tab.page.waitForFunction(
        () => document.querySelectorAll('#runtime option').length === 2,
      );
      await typeCode(
        tab.page,
        'import time\nprint("through", flush=True)\ntime.sleep(1)\nprint("the proxy")',
      );
      await tab.page.click('#run');
      // Live through the proxy too: the first line before the run ends.
      await tab.page.waitForFunction(
        () =>
          /^running/.test(document.querySelector('#summary')?.textContent ?? '') &&
          (document.querySelector('#output')?.textContent ?? '') === 'through\n',
      );
      await tab.page.waitForFunction(
        () => /^completed/.test(document.querySelector('#summary')?.textContent ?? ''),
        { timeout: RUN_TIMEOUT_MS },
      );
      expect(await textOf(tab.page, '#output')).toBe('through\nthe proxy\n');
      expect(tab.requested.filter((url) => !url.startsWith(`${proxy.url}/`))).toEqual([]);
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.page.close();
      await proxy.close();
    }
  });

  it('keeps the code and inputs across a reload of the tab', async () => {
    await typeCode(page, 'print("kept")');
    await page.click('#stdin', { count: 3 });
    await page.keyboard.type('kept stdin');
    await page.reload({ waitUntil: 'networkidle0' });
    expect(await textOf(page, '.cm-content')).toBe('print("kept")');
    expect(await page.$eval('textarea#stdin', (field) => field.value)).toBe('kept stdin');
  });

  it('sends nothing while input_data is not a JSON object, and says why', async () => {
    const executesBefore = requested.filter((url) => url.endsWith('/execute')).length;
    for (const [text, notice] of [
      ['{"n": ', /^input_data is not JSON: /],
      ['[1, 2]', /^input_data must be a JSON object$/],
    ] as const) {
      await setField(page, '#input-data', text);
      await page.click('#run');
      await page.waitForFunction(
        (pattern) => new RegExp(pattern).test(document.querySelector('#notice')?.textContent ?? ''),
        {},
        notice.source,
      );
      await page.waitForFunction(
        () => !document.querySelector<HTMLButtonElement>('#run')?.disabled,
      );
    }
    expect(requested.filter((url) => url.endsWith('/execute')).length).toBe(executesBefore);
    expect(pageErrors).toEqual([]);
  });
});
