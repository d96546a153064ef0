// Reconnection timing, pure: delay = random() * min(maxMs, baseMs * 2^attempt). When the attempt
// count grows and resets (only after a connection stayed up stableMs) is the client machine's
// (client-machine.ts).

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
