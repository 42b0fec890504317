/**
 * When to try again: only after a network failure (the session marks those), at most `retries`
 * more times, waiting `base` and then twice as long each time. What the device said is final.
 */
import type { Outcome } from './session.js';

/** Milliseconds to wait before attempt `attempt + 1`, or null to stop. */
export function nextTry(outcome: Outcome, attempt: number, retries: number, baseMs: number): number | null {
  if (outcome.kind === 'ok' || !outcome.retry || attempt > retries) return null;
  return baseMs * 2 ** (attempt - 1);
}
