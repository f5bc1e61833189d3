/** How far back a job counts as demand for its image's warm containers. */
export const DEMAND_WINDOW_MS = 10 * 60_000;
/** Jobs remembered per image: beyond it the oldest are forgotten (the shares hardly move). */
const MAX_REMEMBERED = 10_000;

/**
 * Splits `budget` warm containers among `keys` (images, the default first) by recent
 * demand, in whole containers:
 * - no demand at all: the first key gets the whole budget (a fresh instance warms the
 *   default runtime);
 * - otherwise only keys with demand get any: one each while the budget lasts (the most
 *   demanded first), the rest in proportion to demand (largest remainders, ties to the
 *   more demanded, then to the earlier key).
 * The shares always add up to the budget (or to 0 without keys).
 */
export function splitWarmBudget(
  budget: number,
  keys: readonly string[],
  demand: ReadonlyMap<string, number>,
): Map<string, number> {
  const shares = new Map(keys.map((key) => [key, 0]));
  if (keys.length === 0 || budget <= 0) return shares;
  const wanted = keys
    .map((key, order) => ({ key, order, jobs: Math.max(0, demand.get(key) ?? 0) }))
    .filter(({ jobs }) => jobs > 0)
    .sort((a, b) => b.jobs - a.jobs || a.order - b.order);
  if (wanted.length === 0) {
    shares.set(keys[0], budget);
    return shares;
  }
  for (const { key } of wanted.slice(0, budget)) shares.set(key, 1);
  const rest = budget - Math.min(budget, wanted.length);
  if (rest === 0) return shares;
  const total = wanted.reduce((sum, { jobs }) => sum + jobs, 0);
  const quotas = wanted.map((entry) => {
    const exact = (rest * entry.jobs) / total;
    return { ...entry, whole: Math.floor(exact), fraction: exact - Math.floor(exact) };
  });
  let left = rest - quotas.reduce((sum, { whole }) => sum + whole, 0);
  for (const { key, whole } of quotas) shares.set(key, (shares.get(key) ?? 0) + whole);
  const byRemainder = [...quotas].sort(
    (a, b) => b.fraction - a.fraction || b.jobs - a.jobs || a.order - b.order,
  );
  for (const { key } of byRemainder) {
    if (left === 0) break;
    shares.set(key, (shares.get(key) ?? 0) + 1);
    left -= 1;
  }
  return shares;
}

/** Jobs per key over the last DEMAND_WINDOW_MS. Knows nothing of Docker. */
export class DemandWindow {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly windowMs = DEMAND_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  record(key: string): void {
    const times = this.seen.get(key) ?? [];
    times.push(this.now());
    if (times.length > MAX_REMEMBERED) times.splice(0, times.length - MAX_REMEMBERED);
    this.seen.set(key, times);
  }

  /** Jobs per key within the window; keys without any are left out. */
  counts(): Map<string, number> {
    const since = this.now() - this.windowMs;
    const counts = new Map<string, number>();
    for (const [key, times] of this.seen) {
      const first = times.findIndex((time) => time > since);
      if (first === -1) {
        this.seen.delete(key);
        continue;
      }
      times.splice(0, first);
      counts.set(key, times.length);
    }
    return counts;
  }
}
