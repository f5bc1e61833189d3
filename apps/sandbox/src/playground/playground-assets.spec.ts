import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Request, Response } from 'express';
import { DomainError } from '../errors/domain-error';
import { loadPlaygroundAssets, PLAYGROUND_FILES } from './playground-assets';
import { PlaygroundController } from './playground.controller';

/** A request with these headers, as Express would hand it to the controller. */
function requestWith(headers: Record<string, string> = {}, path = '/playground'): Request {
  return {
    headers,
    path,
    acceptsEncodings: (...encodings: string[]) =>
      encodings.find((encoding) => (headers['accept-encoding'] ?? 'identity').includes(encoding)),
  } as unknown as Request;
}

/** A response that records what the controller set on it. */
function recordingResponse() {
  const sent = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const response = {
    redirect: (code: number, location: string) => {
      sent.status = code;
      sent.headers['location'] = location;
    },
    setHeader: (name: string, value: string) => (sent.headers[name.toLowerCase()] = value),
    status: (code: number) => ((sent.status = code), response),
    end: (body?: unknown) => void (sent.body = body),
  };
  return { sent, response: response as unknown as Response };
}

describe('the playground page and its files', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'playground-assets-'));
    for (const name of Object.keys(PLAYGROUND_FILES)) writeFileSync(join(dir, name), `<${name}>`);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('loads every file of the bundle with its type and a validator of its bytes', () => {
    const assets = loadPlaygroundAssets(dir);
    expect([...(assets?.keys() ?? [])].sort()).toEqual(Object.keys(PLAYGROUND_FILES).sort());
    const page = assets?.get('index.html');
    expect(page?.contentType).toBe('text/html; charset=utf-8');
    expect(page?.body.toString()).toBe('<index.html>');
    expect(page?.etag).toMatch(/^"[\w-]{27}"$/);
    expect(assets?.get('playground.js')?.etag).not.toBe(page?.etag);
  });

  it('is not built when any of its files is missing, or there is no bundle at all', () => {
    unlinkSync(join(dir, 'playground.js'));
    expect(loadPlaygroundAssets(dir)).toBeNull();
    expect(loadPlaygroundAssets(null)).toBeNull();
  });

  it('serves the page with its policy, and 304 for the validator the browser holds', () => {
    const controller = new PlaygroundController(loadPlaygroundAssets(dir));
    const first = recordingResponse();
    controller.page(requestWith(), first.response);
    expect(first.sent.status).toBe(200);
    expect(String(first.sent.body)).toBe('<index.html>');
    expect(first.sent.headers['content-encoding']).toBeUndefined();
    expect(first.sent.headers['content-security-policy']).toContain("default-src 'none'");
    expect(first.sent.headers['x-content-type-options']).toBe('nosniff');
    const again = recordingResponse();
    controller.page(requestWith({ 'if-none-match': first.sent.headers['etag'] }), again.response);
    expect(again.sent.status).toBe(304);
    expect(again.sent.body).toBeUndefined();
  });

  it('sends /playground/ to /playground, relatively, as its files are named relatively', () => {
    const controller = new PlaygroundController(loadPlaygroundAssets(dir));
    const sent = recordingResponse();
    controller.page(requestWith({}, '/playground/'), sent.response);
    expect(sent.sent).toMatchObject({ status: 301, headers: { location: '../playground' } });
  });

  it('sends the gzip form to a browser that takes it, under a validator of its own', () => {
    const controller = new PlaygroundController(loadPlaygroundAssets(dir));
    const plain = recordingResponse();
    controller.asset('playground.js', requestWith(), plain.response);
    const gzipped = recordingResponse();
    controller.asset(
      'playground.js',
      requestWith({ 'accept-encoding': 'gzip, br' }),
      gzipped.response,
    );
    expect(gzipped.sent.headers['content-encoding']).toBe('gzip');
    expect(gzipped.sent.headers['vary']).toBe('Accept-Encoding');
    expect(gunzipSync(gzipped.sent.body as Buffer).toString()).toBe('<playground.js>');
    expect(gzipped.sent.headers['etag']).not.toBe(plain.sent.headers['etag']);
  });

  it('serves only the bundle’s files, never the page under another name', () => {
    const controller = new PlaygroundController(loadPlaygroundAssets(dir));
    for (const name of ['index.html', '..', 'secrets.txt']) {
      expect(() => controller.asset(name, requestWith(), recordingResponse().response)).toThrow(
        expect.objectContaining({ code: 'ROUTE_NOT_FOUND' }) as DomainError,
      );
    }
  });

  it('answers PLAYGROUND_NOT_BUILT when the bundle was not built', () => {
    const controller = new PlaygroundController(null);
    expect(() => controller.page(requestWith(), recordingResponse().response)).toThrow(
      expect.objectContaining({ code: 'PLAYGROUND_NOT_BUILT' }) as DomainError,
    );
  });
});
