/** One execution callback, as it is signed and sent. */
export interface WebhookDelivery {
  readonly url: string;
  /** Standard Webhooks' `webhook-id`: the same on every attempt, so receivers can drop repeats. */
  readonly id: string;
  /**
   * The attempt's time, signed as `webhook-timestamp`. Receivers refuse signatures a few
   * minutes old (5 in Standard Webhooks' libraries): a retry passes its own time.
   */
  readonly timestamp: Date;
  /** JSON text, sent byte for byte. */
  readonly body: string;
}

/** What one attempt came to. */
export type WebhookAttempt =
  /** The receiver took it (2xx). */
  | { readonly ok: true; readonly status: number }
  /**
   * It did not. Retryable: 408, 429, 5xx, no connection, no answer in time. Not
   * retryable: any other status (3xx included: redirects are not followed) and a
   * destination that was refused before anything was sent (status null).
   */
  | {
      readonly ok: false;
      readonly retryable: boolean;
      readonly status: number | null;
      readonly reason: string;
    };

/** Port: delivers one callback attempt. Retrying is the caller's decision. */
export abstract class WebhookSender {
  /** Never throws for a failed delivery: every outcome is an attempt. */
  abstract send(delivery: WebhookDelivery): Promise<WebhookAttempt>;
}
