import { HostResolver } from '../host-resolver';

/** Resolves names from a table, without DNS; a name not in it is ENOTFOUND. */
export class StaticHostResolver extends HostResolver {
  /** Every name asked for, oldest first. */
  readonly asked: string[] = [];

  constructor(private readonly table: Readonly<Record<string, readonly string[]>>) {
    super();
  }

  resolve(hostname: string): Promise<readonly string[]> {
    this.asked.push(hostname);
    const addresses = this.table[hostname];
    if (addresses) return Promise.resolve(addresses);
    return Promise.reject(
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
    );
  }
}
