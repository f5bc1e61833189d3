import { Injectable } from '@nestjs/common';
import { lookup } from 'node:dns/promises';

/** Port: every address a host name resolves to. Replaceable so specs need no DNS. */
export abstract class HostResolver {
  abstract resolve(hostname: string): Promise<readonly string[]>;
}

/** The system resolver (getaddrinfo), as a connection would use it. */
@Injectable()
export class DnsHostResolver extends HostResolver {
  async resolve(hostname: string): Promise<readonly string[]> {
    const found = await lookup(hostname, { all: true });
    return found.map(({ address }) => address);
  }
}
