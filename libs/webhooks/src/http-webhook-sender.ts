import { Injectable } from '@nestjs/common';
import axios, { AxiosInstance } from 'axios';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { LookupFunction, isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { Webhook } from 'standardwebhooks';
import { DestinationPolicy } from './destination-policy';
import { HostResolver } from './host-resolver';
import { WebhookOptions } from './webhook-options';
import { WebhookAttempt, WebhookDelivery, WebhookSender } from './webhook-sender';

export const WEBHOOK_USER_AGENT = 'Brain_Net-Sandbox-Webhooks/1';
const DEFAULT_TIMEOUT_MS = 10_000;
/** The most of an answer that is read before it is dropped: only its status counts. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Signs a callback (Standard Webhooks) and POSTs it with axios, to an address vetted by
 * DestinationPolicy: the host is resolved once, every address it resolves to is checked,
 * and the connection is handed those same addresses.
 */
@Injectable()
export class HttpWebhookSender extends WebhookSender {
  private readonly webhook: Webhook;
  private readonly policy: DestinationPolicy;
  private readonly timeoutMs: number;
  private readonly http: AxiosInstance;

  constructor(
    options: WebhookOptions,
    private readonly resolver: HostResolver,
  ) {
    super();
    this.webhook = new Webhook(options.secret);
    this.policy = new DestinationPolicy({
      allowedHosts: options.allowedHosts,
      allowPrivateAddresses: options.allowPrivateAddresses ?? [],
      allowHttp: options.allowHttp ?? false,
    });
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.http = axios.create({
      // Node's own transport: the agents below are what pins the address.
      adapter: 'http',
      maxRedirects: 0,
      // A proxy would resolve the name itself, past the check.
      proxy: false,
      validateStatus: () => true,
      responseType: 'stream',
      decompress: false,
      headers: { 'Content-Type': 'application/json', 'User-Agent': WEBHOOK_USER_AGENT },
    });
  }

  async send(delivery: WebhookDelivery): Promise<WebhookAttempt> {
    if (!URL.canParse(delivery.url)) return refused('not a URL');
    const url = new URL(delivery.url);
    const urlRefusal = this.policy.refusalOfUrl(url);
    if (urlRefusal) return refused(urlRefusal);

    const deadline = AbortSignal.timeout(this.timeoutMs);
    let addresses: readonly string[];
    try {
      addresses = await this.addressesOf(url.hostname, deadline);
    } catch (error: unknown) {
      return failed(`${url.hostname} not resolved: ${this.describe(error, deadline)}`);
    }
    for (const address of addresses) {
      const addressRefusal = this.policy.refusalOfAddress(address);
      if (addressRefusal) return refused(`${url.hostname}: ${addressRefusal}`);
    }

    const lookup = pinnedLookup(addresses);
    const agent =
      url.protocol === 'https:' ? new HttpsAgent({ lookup }) : new HttpAgent({ lookup });
    try {
      const response = await this.http.post<Readable>(url.href, Buffer.from(delivery.body), {
        signal: deadline,
        httpAgent: agent,
        httpsAgent: agent,
        headers: {
          'webhook-id': delivery.id,
          'webhook-timestamp': String(Math.floor(delivery.timestamp.getTime() / 1000)),
          'webhook-signature': this.webhook.sign(delivery.id, delivery.timestamp, delivery.body),
        },
      });
      await readAtMost(response.data, MAX_ANSWER_BYTES);
      return attemptOf(response.status);
    } catch (error: unknown) {
      return failed(this.describe(error, deadline));
    } finally {
      agent.destroy();
    }
  }

  private async addressesOf(hostname: string, deadline: AbortSignal): Promise<readonly string[]> {
    const literal = hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(literal) !== 0) return [literal];
    const addresses = await Promise.race([
      this.resolver.resolve(hostname),
      // getaddrinfo cannot be cancelled; it can be stopped being waited for.
      new Promise<never>((_, reject) =>
        deadline.addEventListener('abort', () => reject(new Error('deadline passed')), {
          once: true,
        }),
      ),
    ]);
    if (addresses.length === 0) throw new Error('no address');
    return addresses;
  }

  private describe(error: unknown, deadline: AbortSignal): string {
    // The deadline is the only thing that aborts an attempt.
    if (deadline.aborted) return `no answer within ${this.timeoutMs} ms`;
    if (axios.isAxiosError(error)) return error.message || error.code || 'network error';
    return error instanceof Error ? error.message : String(error);
  }
}

/** Hands the connection the vetted addresses, so no second lookup can answer differently. */
function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (_hostname, options, callback) => {
    // With autoSelectFamily (Node's default) the connection asks for every address.
    if (options.all) callback(null, entries);
    else callback(null, entries[0].address, entries[0].family);
  };
}

/** Reads some of the answer, so a receiver can finish writing, then drops it. */
async function readAtMost(body: Readable, limit: number): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body) {
      read += (chunk as Buffer).length;
      if (read >= limit) break;
    }
  } catch {
    // The status has decided the attempt already: an answer cut short changes nothing.
  }
}

function attemptOf(status: number): WebhookAttempt {
  if (status >= 200 && status < 300) return { ok: true, status };
  if (status >= 300 && status < 400) {
    return { ok: false, retryable: false, status, reason: `answered ${status}: not followed` };
  }
  const retryable = status === 408 || status === 429 || (status >= 500 && status < 600);
  return { ok: false, retryable, status, reason: `answered ${status}` };
}

function refused(why: string): WebhookAttempt {
  return { ok: false, retryable: false, status: null, reason: `refused: ${why}` };
}

function failed(why: string): WebhookAttempt {
  return { ok: false, retryable: true, status: null, reason: why };
}
