// Reconnection timing, pure and clock-injected so it can be tested with a table of cases.
//
//   failure ──► delay = random() * min(maxMs, baseMs * 2^attempt); attempt += 1
//   open    ──► remember when; the attempt count resets only at the next failure, and only if the
//               connection had stayed up for stableMs (a flapping server keeps backing off)

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 30_000, stableMs: 10_000 };

export function ceilingMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
}

/** Full jitter: uniform in [0, ceiling), so clients that failed together retry apart. */
export function jitteredDelayMs(attempt: number, random: () => number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.floor(random() * ceilingMs(attempt, options));
}

export class ReconnectPolicy {
  attempt = 0;
  private openedAt: number | null = null;

  constructor(
    private readonly random: () => number = Math.random,
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  onOpen(now: number): void {
    this.openedAt = now;
  }

  /** The wait before the next try. */
  onFailure(now: number): number {
    if (this.openedAt !== null && now - this.openedAt >= this.options.stableMs) {
      this.attempt = 0;
    }
    this.openedAt = null;
    const delay = jitteredDelayMs(this.attempt, this.random, this.options);
    this.attempt += 1;
    return delay;
  }
}
