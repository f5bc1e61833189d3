import { freeLoopbackPort } from '@brain-net/testing';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer, createServer as createTlsServer } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import { HttpWebhookSender, WEBHOOK_USER_AGENT } from './http-webhook-sender';
import { StaticHostResolver } from './testing/static-host-resolver';
import { WebhookReceiver } from './testing/webhook-receiver';
import { WebhookOptions } from './webhook-options';
import { WebhookDelivery } from './webhook-sender';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const TIMEOUT_MS = 2000;

/** Names under .invalid never reach DNS: this table is the only resolver the specs use. */
const NAMES: Record<string, readonly string[]> = {
  'receiver.invalid': ['127.0.0.1'],
  'private.invalid': ['10.0.0.7'],
  'mapped.invalid': ['::ffff:127.0.0.1'],
  'link.invalid': ['169.254.169.254'],
  'mixed.invalid': ['127.0.0.1', '10.0.0.7'],
};

/** The three Standard Webhooks headers, as verify() takes them. */
function signatureHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const names = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
  return Object.fromEntries(names.map((name) => [name, String(headers[name])]));
}

describe('HttpWebhookSender', () => {
  const receiver = new WebhookReceiver();
  let resolver: StaticHostResolver;

  function sender(options: Partial<WebhookOptions> = {}): HttpWebhookSender {
    return new HttpWebhookSender(
      {
        secret: SECRET,
        allowedHosts: ['*.invalid', '127.0.0.1'],
        allowPrivateAddresses: ['127.0.0.1'],
        allowHttp: true,
        timeoutMs: TIMEOUT_MS,
        ...options,
      },
      resolver,
    );
  }

  function delivery(url: string): WebhookDelivery {
    return { url, id: 'msg_1', timestamp: new Date(), body: '{"execution_id":"e-1"}' };
  }

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  beforeEach(() => {
    resolver = new StaticHostResolver(NAMES);
    receiver.answer = { status: 204 };
    receiver.received.splice(0);
    receiver.connections = 0;
  });

  afterEach(() => jest.restoreAllMocks());

  it('delivers once to the vetted address, signed so that Standard Webhooks verifies it', async () => {
    const url = `${receiver.url('receiver.invalid')}/hooks/run?x=1`;
    // Surrounding white space and non-ASCII text: the signed bytes are the sent bytes.
    const body = ' {"execution_id":"e-1","status":"succeeded","note":"Zürich"}\n';
    const timestamp = new Date();

    expect(await sender().send({ url, id: 'msg_e-1', timestamp, body })).toEqual({
      ok: true,
      status: 204,
    });

    expect(resolver.asked).toEqual(['receiver.invalid']);
    expect(receiver.received).toHaveLength(1);
    const [received] = receiver.received;
    expect(received).toMatchObject({ method: 'POST', path: '/hooks/run?x=1', body });
    expect(received.headers).toMatchObject({
      host: new URL(url).host,
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      'webhook-id': 'msg_e-1',
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    });
    const headers = signatureHeaders(received.headers);
    expect(() => new Webhook(SECRET).verify(body, headers)).not.toThrow();
    const otherSecret = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => new Webhook(otherSecret).verify(body, headers)).toThrow();
  });

  it('delivers to an allowed IP literal without resolving anything', async () => {
    expect(await sender().send(delivery(receiver.url('127.0.0.1')))).toEqual({
      ok: true,
      status: 204,
    });
    expect(resolver.asked).toEqual([]);
    expect(receiver.received).toHaveLength(1);
  });

  it('dials through http.request, which the refusal specs below watch', async () => {
    const dial = jest.spyOn(http, 'request');
    await sender().send(delivery(receiver.url('receiver.invalid')));
    expect(dial).toHaveBeenCalledTimes(1);
  });

  it.each([
    [500, true],
    [503, true],
    [408, true],
    [429, true],
    [400, false],
    [404, false],
    [410, false],
  ])('calls a %i retryable: %p', async (status, retryable) => {
    receiver.answer = { status };
    expect(await sender().send(delivery(receiver.url('receiver.invalid')))).toEqual({
      ok: false,
      retryable,
      status,
      reason: `answered ${status}`,
    });
  });

  it('does not follow a redirect, and does not retry it', async () => {
    receiver.answer = { status: 302 };
    expect(await sender().send(delivery(receiver.url('receiver.invalid')))).toEqual({
      ok: false,
      retryable: false,
      status: 302,
      reason: 'answered 302: not followed',
    });
    expect(receiver.received.map(({ path }) => path)).toEqual(['/']);
  });

  it('calls no answer within the timeout retryable', async () => {
    receiver.answer = { delayMs: 5_000 };
    expect(
      await sender({ timeoutMs: 300 }).send(delivery(receiver.url('receiver.invalid'))),
    ).toEqual({ ok: false, retryable: true, status: null, reason: 'no answer within 300 ms' });
  });

  // Reading to the end would take until the sender's deadline, past the spec's own.
  it('reads no more of an answer than it needs', async () => {
    receiver.answer = 'endless';
    expect(
      await sender({ timeoutMs: 60_000 }).send(delivery(receiver.url('receiver.invalid'))),
    ).toEqual({ ok: true, status: 200 });
  }, 10_000);

  it('calls a receiver that is not listening retryable', async () => {
    const closedPort = await freeLoopbackPort();
    expect(await sender().send(delivery(`http://receiver.invalid:${closedPort}/`))).toEqual({
      ok: false,
      retryable: true,
      status: null,
      reason: expect.stringContaining('ECONNREFUSED') as string,
    });
  });

  it('calls a name that does not resolve retryable', async () => {
    expect(await sender().send(delivery('http://unknown.invalid/'))).toEqual({
      ok: false,
      retryable: true,
      status: null,
      reason: 'unknown.invalid not resolved: getaddrinfo ENOTFOUND unknown.invalid',
    });
  });

  it('calls a name not resolved within the timeout retryable', async () => {
    const stalled = new HttpWebhookSender(
      { secret: SECRET, allowedHosts: ['*.invalid'], allowHttp: true, timeoutMs: 300 },
      { resolve: () => new Promise<never>(() => undefined) },
    );
    expect(await stalled.send(delivery('http://slow.invalid/'))).toEqual({
      ok: false,
      retryable: true,
      status: null,
      reason: 'slow.invalid not resolved: no answer within 300 ms',
    });
  });

  it('goes past a proxy the environment names: a proxy would resolve the name again', async () => {
    const proxyPort = await freeLoopbackPort();
    const saved = { http_proxy: process.env.http_proxy, HTTP_PROXY: process.env.HTTP_PROXY };
    process.env.http_proxy = process.env.HTTP_PROXY = `http://127.0.0.1:${proxyPort}`;
    try {
      expect(await sender().send(delivery(receiver.url('receiver.invalid')))).toEqual({
        ok: true,
        status: 204,
      });
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  describe('over https', () => {
    const serverNames: string[] = [];
    // No certificate: the handshake only has to get as far as naming the server.
    const tls: TlsServer = createTlsServer({
      SNICallback: (name, callback) => {
        serverNames.push(name);
        callback(new Error('no certificate here'));
      },
    });

    beforeAll(() => new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve)));
    afterAll(() => new Promise<void>((resolve) => tls.close(() => resolve())));

    it('connects to the vetted address, naming the host for TLS', async () => {
      const { port } = tls.address() as AddressInfo;
      const attempt = await sender({ allowHttp: false }).send(
        delivery(`https://receiver.invalid:${port}/`),
      );
      expect(attempt).toMatchObject({ ok: false, retryable: true, status: null });
      expect(serverNames).toEqual(['receiver.invalid']);
      expect(resolver.asked).toEqual(['receiver.invalid']);
    });
  });

  describe('refuses, without resolving or connecting', () => {
    it.each<[string, () => string, Partial<WebhookOptions>, RegExp]>([
      [
        'a host not on the list',
        () => receiver.url('unlisted.example'),
        {},
        /^refused: unlisted\.example is not an allowed host$/,
      ],
      [
        'every host when the list is empty',
        () => receiver.url('receiver.invalid'),
        { allowedHosts: [] },
        /^refused: receiver\.invalid is not an allowed host$/,
      ],
      [
        'http when allowHttp is off',
        () => receiver.url('receiver.invalid'),
        { allowHttp: false },
        /^refused: http is not allowed: use https$/,
      ],
      [
        'a URL with credentials',
        () => receiver.url('user:secret@receiver.invalid'),
        {},
        /^refused: the URL carries credentials$/,
      ],
      ['text that is no URL', () => 'receiver.invalid/hook', {}, /^refused: not a URL$/],
    ])('%s', async (_case, url, options, reason) => {
      const dial = jest.spyOn(http, 'request').mockImplementation(() => {
        throw new Error('a refused destination was dialed');
      });
      expect(await sender(options).send(delivery(url()))).toEqual({
        ok: false,
        retryable: false,
        status: null,
        reason: expect.stringMatching(reason) as string,
      });
      expect(resolver.asked).toEqual([]);
      expect(dial).not.toHaveBeenCalled();
      expect(receiver.connections).toBe(0);
    });
  });

  describe('refuses, once resolved, without connecting', () => {
    it.each<[string, () => string, Partial<WebhookOptions>, string]>([
      [
        'a name resolving to a private address',
        () => 'http://private.invalid/',
        {},
        'private.invalid: 10.0.0.7 is private',
      ],
      [
        'a name resolving to IPv4-mapped loopback, with no allowance',
        () => receiver.url('mapped.invalid'),
        { allowPrivateAddresses: [] },
        'mapped.invalid: ::ffff:127.0.0.1 is loopback',
      ],
      [
        'a name resolving to the link-local metadata address',
        () => 'http://link.invalid/latest/meta-data/',
        {},
        'link.invalid: 169.254.169.254 is linkLocal',
      ],
      [
        'a name resolving to an allowed and a private address',
        () => receiver.url('mixed.invalid'),
        {},
        'mixed.invalid: 10.0.0.7 is private',
      ],
      [
        'a loopback IP literal with no allowance',
        () => receiver.url('127.0.0.1'),
        { allowPrivateAddresses: [] },
        '127.0.0.1: 127.0.0.1 is loopback',
      ],
    ])('%s', async (_case, url, options, reason) => {
      const dial = jest.spyOn(http, 'request').mockImplementation(() => {
        throw new Error('a refused destination was dialed');
      });
      const { hostname } = new URL(url());
      expect(await sender(options).send(delivery(url()))).toEqual({
        ok: false,
        retryable: false,
        status: null,
        reason: `refused: ${reason}`,
      });
      expect(resolver.asked).toEqual(hostname === '127.0.0.1' ? [] : [hostname]);
      expect(dial).not.toHaveBeenCalled();
      expect(receiver.connections).toBe(0);
    });
  });
});
