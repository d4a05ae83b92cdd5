/**
 * Timers that remember which task set them. A callback that throws after its task has
 * finished is a leftover of that task: the pool is told so, and does not blame whatever
 * task runs then. Only what a task schedules with `setTimeout`, `setInterval` or
 * `queueMicrotask` is followed this way (promise callbacks cannot be: see the README's
 * honest limits); following it costs one closure per timer and nothing per task.
 *
 * @module
 */

/** Whose code runs now, kept by the runtime and carried by timers. */
export interface Owners<T> {
  /** The task whose code runs now: the last one started, or the one whose timer fires. */
  owner: T | null;
  /** A callback scheduled while `owner` ran threw `error`. */
  thrown(error: unknown, owner: T | null): void;
}

type Callback = (...args: unknown[]) => unknown;

/** Replaces the global timer functions with ones that carry `owners.owner`. */
export function trackTimerOwners<T>(owners: Owners<T>): void {
  const realSetTimeout = globalThis.setTimeout;
  const realSetInterval = globalThis.setInterval;
  const realQueueMicrotask = globalThis.queueMicrotask;
  const wrap = (callback: unknown): unknown => {
    if (typeof callback !== "function") return callback; // a string to evaluate
    const owner = owners.owner;
    return function (this: unknown, ...args: unknown[]) {
      const previous = owners.owner;
      owners.owner = owner;
      try {
        return (callback as Callback).apply(this, args);
      } catch (error) {
        owners.thrown(error, owner);
      } finally {
        owners.owner = previous;
      }
    };
  };
  globalThis.setTimeout =
    ((callback: unknown, delay?: number, ...args: unknown[]) =>
      realSetTimeout(wrap(callback) as Callback, delay, ...args)) as typeof setTimeout;
  globalThis.setInterval =
    ((callback: unknown, delay?: number, ...args: unknown[]) =>
      realSetInterval(wrap(callback) as Callback, delay, ...args)) as typeof setInterval;
  globalThis.queueMicrotask = (callback: VoidFunction) =>
    realQueueMicrotask(wrap(callback) as VoidFunction);
}
