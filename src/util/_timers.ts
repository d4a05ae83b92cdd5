/**
 * Timers for any delay. `setTimeout` keeps its delay in a signed 32-bit integer: from 2^31 ms
 * (about 24.8 days) on, Deno warns and fires after 1 ms. A longer timeout is a chain of
 * shorter timers, each checking a deadline; `Infinity` is no timer at all.
 *
 * @module
 */

/** The longest delay `setTimeout` honours, ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

type Timer = ReturnType<typeof setTimeout>;

/** The current link of a longer timer's chain. */
class TimerChain {
  constructor(public id: Timer) {}
}

/** A timer set by {@link setLongTimeout}: a plain timer, or a chain of them. */
export type LongTimeout = Timer | TimerChain;

/**
 * Calls `callback` once, `ms` milliseconds from now, however long that is. Returns
 * `undefined` for `Infinity` (never). `step` is the longest link of a chain, left at
 * {@link MAX_TIMER_MS} but by tests.
 */
export function setLongTimeout(
  callback: () => void,
  ms: number,
  step: number = MAX_TIMER_MS,
): LongTimeout | undefined {
  if (ms === Infinity) return undefined;
  if (ms <= step) return setTimeout(callback, ms);
  const deadline = performance.now() + ms;
  const next = () => {
    const left = deadline - performance.now();
    if (left <= 0) callback();
    else chain.id = setTimeout(next, Math.min(left, step));
  };
  const chain = new TimerChain(setTimeout(next, step));
  return chain;
}

/** Cancels a timer of {@link setLongTimeout}, wherever its chain is. */
export function clearLongTimeout(timer: LongTimeout | undefined): void {
  if (timer !== undefined) clearTimeout(timer instanceof TimerChain ? timer.id : timer);
}
