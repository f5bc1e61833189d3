/** How far back jobs count towards the arrival rate that sizes the warm pool. */
export const ARRIVAL_WINDOW_MS = 10_000;
/** What preparing a warm container is taken to cost until one has been measured. */
export const INITIAL_PREPARE_MS = 400;
/** Weight of the newest measure in the moving average of prepare times. */
const PREPARE_MS_WEIGHT = 0.3;

/**
 * How many warm containers to keep (ready or being prepared), within `budget`: one ready,
 * plus as many under way as jobs arrive while one is prepared (Little's law: arrivals per
 * second × prepare time), rounded. Not rounded up: the job whose take triggers the fill
 * is itself an arrival, so rounding up would keep two for ever however rare the jobs; one
 * ready, refilled at once, serves every job that comes more than a prepare time apart.
 */
export function warmTarget(spec: {
  readonly budget: number;
  readonly arrivalsPerSecond: number;
  readonly prepareMs: number;
}): number {
  const underWay = Math.round((spec.arrivalsPerSecond * spec.prepareMs) / 1000);
  return Math.min(spec.budget, Math.max(1, underWay + 1));
}

/** Events per second over the last `windowMs`. Knows nothing of Docker. */
export class ArrivalRate {
  private readonly times: number[] = [];

  constructor(
    private readonly windowMs = ARRIVAL_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  record(): void {
    this.times.push(this.now());
    this.forgetOld();
  }

  perSecond(): number {
    this.forgetOld();
    return (this.times.length * 1000) / this.windowMs;
  }

  private forgetOld(): void {
    const since = this.now() - this.windowMs;
    const first = this.times.findIndex((time) => time > since);
    this.times.splice(0, first === -1 ? this.times.length : first);
  }
}

/**
 * The warm target as jobs arrive and containers get prepared (warmTarget): the whole
 * budget until a job arrives, so that a fresh instance warms up fully. Knows nothing of
 * Docker.
 */
export class WarmTarget {
  private readonly arrivals: ArrivalRate;
  private anyArrived = false;
  private prepareMs = INITIAL_PREPARE_MS;
  private prepareMeasured = false;
  /** How long a warm container's preload takes after its start; 0 until one is reported. */
  private preloadMs = 0;
  private preloadMeasured = false;

  constructor(now: () => number = Date.now) {
    this.arrivals = new ArrivalRate(ARRIVAL_WINDOW_MS, now);
  }

  /** A job came for a warm container (whether it got one or not). */
  recordArrival(): void {
    this.anyArrived = true;
    this.arrivals.record();
  }

  /** A warm container took this long to prepare. */
  recordPrepare(ms: number): void {
    this.prepareMs = this.prepareMeasured ? movingAverage(this.prepareMs, ms) : ms;
    this.prepareMeasured = true;
  }

  /**
   * A warm container's preload took `ms` after its start, or (`ready` false) had not ended
   * after `ms` when its job came: a lower bound, which only ever raises the estimate.
   */
  recordPreload(ms: number, ready: boolean): void {
    const sample = ready ? ms : Math.max(ms, this.preloadMs);
    this.preloadMs = this.preloadMeasured ? movingAverage(this.preloadMs, sample) : sample;
    this.preloadMeasured = true;
  }

  /** The target within `budget`: a container counts as prepared once its preload is over too. */
  of(budget: number): number {
    if (!this.anyArrived) return budget;
    return warmTarget({
      budget,
      arrivalsPerSecond: this.arrivals.perSecond(),
      prepareMs: this.prepareMs + this.preloadMs,
    });
  }
}

function movingAverage(average: number, sample: number): number {
  return PREPARE_MS_WEIGHT * sample + (1 - PREPARE_MS_WEIGHT) * average;
}
