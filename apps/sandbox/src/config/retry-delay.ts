export interface RetryPolicy {
  /** Delay ceiling after the first failed attempt. */
  readonly retryBaseMs: number;
  /** No delay ceiling exceeds this. */
  readonly retryMaxMs: number;
}

/**
 * How long to wait after `failedAttempts` failed attempts: exponential from the base,
 * doubling per attempt, capped, with "equal jitter" (half the ceiling fixed, half random)
 * so that many deliveries (adjustments, callbacks) failing together do not retry together.
 *
 * @param random a source of numbers in [0, 1), like Math.random
 */
export function retryDelayMs(
  failedAttempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** (failedAttempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
