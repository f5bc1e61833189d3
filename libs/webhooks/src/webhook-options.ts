/** How callbacks are signed and where they may go. Injection token and shape. */
export abstract class WebhookOptions {
  /** Standard Webhooks signing secret, `whsec_` followed by base64. */
  abstract readonly secret: string;
  /**
   * Host names or IP literals callbacks may go to; `*.example.org` matches every name
   * below example.org (not example.org itself). Empty: every callback is refused.
   */
  abstract readonly allowedHosts: readonly string[];
  /**
   * IP literals or CIDRs that may be dialed although loopback, private, link-local or
   * otherwise not public. IPv4-mapped IPv6 addresses are matched in their IPv4 form.
   */
  abstract readonly allowPrivateAddresses?: readonly string[];
  /** Plain http callbacks; https only when false (the default). */
  abstract readonly allowHttp?: boolean;
  /** Deadline of one attempt (resolution, answer, reading it), in ms; 10 s by default. */
  abstract readonly timeoutMs?: number;
}
