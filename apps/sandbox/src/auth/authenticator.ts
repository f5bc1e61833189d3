import type { IncomingHttpHeaders } from 'node:http';
import { ANONYMOUS_CALLER, Caller } from './caller';

/** Resolves a request's credentials to its Caller. Also the injection token of the mode's adapter. */
export abstract class Authenticator {
  /** The caller the headers prove; throws UNAUTHENTICATED (401) when they prove none. */
  abstract authenticate(headers: IncomingHttpHeaders): Promise<Caller>;
}

/** AUTH_MODE=none: credentials are ignored, everyone is the anonymous caller. */
export class AnonymousAuthenticator extends Authenticator {
  authenticate(): Promise<Caller> {
    return Promise.resolve(ANONYMOUS_CALLER);
  }
}
