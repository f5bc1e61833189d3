import * as ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

type AddressRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** What DestinationPolicy is built from: WebhookOptions' lists, defaults applied. */
export interface DestinationRules {
  readonly allowedHosts: readonly string[];
  readonly allowPrivateAddresses: readonly string[];
  readonly allowHttp: boolean;
}

/**
 * IPv4-compatible IPv6 (::a.b.c.d, deprecated): ipaddr.js calls it unicast although it
 * only wraps an IPv4 address.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Which callback URLs and addresses may be used. Pure: resolving names is the caller's.
 * Throws at construction on an entry it cannot read, so a misconfiguration fails at boot.
 */
export class DestinationPolicy {
  private readonly hosts: ReadonlySet<string>;
  /** `*.example.org` kept as `.example.org`. */
  private readonly suffixes: readonly string[];
  private readonly allowances: readonly AddressRange[];
  private readonly allowHttp: boolean;

  constructor(rules: DestinationRules) {
    const patterns = rules.allowedHosts.filter((entry) => entry.startsWith('*.'));
    this.hosts = new Set(
      rules.allowedHosts.filter((entry) => !entry.startsWith('*.')).map(normalizedHost),
    );
    this.suffixes = patterns.map((pattern) => `.${normalizedHost(pattern.slice(2))}`);
    this.allowances = rules.allowPrivateAddresses.map(parseAllowance);
    this.allowHttp = rules.allowHttp;
  }

  /** Why this URL may not be called before its host is even resolved, or null. */
  refusalOfUrl(url: URL): string | null {
    if (url.protocol === 'http:' && !this.allowHttp) return 'http is not allowed: use https';
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `${url.protocol} is not http or https`;
    }
    if (url.username || url.password) return 'the URL carries credentials';
    const { hostname } = url;
    if (this.hosts.has(hostname) || this.suffixes.some((suffix) => hostname.endsWith(suffix))) {
      return null;
    }
    return `${hostname} is not an allowed host`;
  }

  /**
   * Why this address may not be dialed, or null. Only plain unicast is, unless allowed:
   * not loopback, private, link-local, CGNAT, unspecified, multicast, broadcast, nor any
   * other range ipaddr.js knows as special (reserved, 6to4, Teredo, NAT64...).
   */
  refusalOfAddress(address: string): string | null {
    if (isIP(address) === 0) return `${address} is not an IP address`;
    // An IPv4-mapped IPv6 address reaches the IPv4 address it maps: judge that one.
    const ip = ipaddr.process(address);
    if (
      this.allowances.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))
    ) {
      return null;
    }
    let range: string = ip.range();
    if (range === 'unicast' && ip.kind() === 'ipv6' && ip.match(IPV4_COMPATIBLE)) {
      range = 'ipv4Compatible';
    }
    return range === 'unicast' ? null : `${address} is ${range}`;
  }
}

/** A host as WHATWG URL parsing writes it (lower case, punycode, `[::1]`), to compare. */
function normalizedHost(entry: string): string {
  const host = isIP(entry) === 6 ? `[${entry}]` : entry;
  const url = URL.canParse(`http://${host}`) ? new URL(`http://${host}`) : null;
  if (!url || url.href !== `http://${url.hostname}/`) {
    throw new Error(`allowedHosts: ${JSON.stringify(entry)} is not a host name or IP address`);
  }
  return url.hostname;
}

function parseAllowance(entry: string): AddressRange {
  const [address, bits, ...rest] = entry.split('/');
  if (isIP(address) !== 0 && rest.length === 0) {
    if (bits === undefined) {
      const ip = ipaddr.process(address);
      return [ip, ip.kind() === 'ipv4' ? 32 : 128];
    }
    if (ipaddr.isValidCIDR(entry)) return ipaddr.parseCIDR(entry);
  }
  throw new Error(
    `allowPrivateAddresses: ${JSON.stringify(entry)} is not an IP address or CIDR range`,
  );
}
