/**
 * A pool's event stream, batched for a watcher: what the monitor's `/events` sends and what
 * the dashboard draws. It listens to the pool only while it runs, sends a snapshot at once
 * and then every `snapshotIntervalMs`, and groups the pool's events into batches so that a
 * pool finishing tens of thousands of tasks a second costs its watcher a few messages a
 * second, not one per task.
 *
 * @module
 */

import { POOL_EVENT_TYPES } from "../core/events.ts";
import type { PoolEventMap, PoolEventType } from "../core/events.ts";
import type { PoolStats } from "../core/stats.ts";
import { MAX_TIMER_MS } from "../util/_timers.ts";

/** What a monitor needs of a pool: its events and its `stats()`. `Pool` is one. */
export interface MonitoredPool extends EventTarget {
  /** A snapshot of the pool now. */
  stats(): PoolStats;
}

/** One pool event as plain data: its type and its `detail`. */
export type PoolEventRecord = {
  [K in PoolEventType]: { readonly type: K; readonly detail: PoolEventMap[K]["detail"] };
}[PoolEventType];

/** A message of a pool's watch stream (and of the monitor's `/events`). */
export type MonitorMessage =
  | {
    /** A full `stats()` snapshot: sent at once, then every `snapshotIntervalMs`. */
    readonly type: "snapshot";
    readonly stats: PoolStats;
  }
  | {
    /** The pool's events since the last batch, oldest first. */
    readonly type: "events";
    readonly events: readonly PoolEventRecord[];
    /**
     * The task event types that reached `maxBatch` in this batch: the watch stopped
     * listening to them until the batch was sent, so later ones are missing (the next
     * snapshot carries the totals). Empty when nothing was left out.
     */
    readonly truncated: readonly TaskEventType[];
  };

/** The per-task events, the ones a busy pool sends thousands of. */
export type TaskEventType = "taskqueued" | "taskstart" | "taskend";

const TASK_EVENT_TYPES: readonly TaskEventType[] = ["taskqueued", "taskstart", "taskend"];
const WORKER_EVENT_TYPES = POOL_EVENT_TYPES.filter(
  (type) => !(TASK_EVENT_TYPES as readonly string[]).includes(type),
);
/** Worker events are rare; this only bounds a batch if a pool churns workers wildly. */
const MAX_WORKER_EVENTS = 1000;

/** Options of `watchPool`. */
export interface WatchOptions {
  /** How often to send a snapshot, ms. Default 1000. */
  snapshotIntervalMs?: number;
  /** How long to gather events before sending them as one batch, ms. Default 100. */
  batchMs?: number;
  /**
   * The most events of each task event type in one batch. Beyond it the watch stops
   * listening to that type until the batch is sent, so a flood costs the pool nothing
   * (it builds no event nobody listens to). Default 50.
   */
  maxBatch?: number;
}

/** A running watch; stop it to remove its listeners and timers. */
export interface PoolWatch extends Disposable {
  /** Sends the events gathered so far, then removes the listeners and timers. Idempotent. */
  stop(): void;
}

/**
 * Watches a pool: calls `onMessage` with a snapshot at once, then with batches of the pool's
 * events and periodic snapshots, until stopped. Listeners are attached only while the watch
 * runs, so a pool nobody watches pays nothing; and a busy pool is sampled, not followed
 * event by event (see `maxBatch`), so watching it costs little.
 *
 * @param pool The pool (anything with `stats()` that dispatches the pool's events).
 * @param onMessage Called with each message, in order; events always come before the
 * snapshot taken after them.
 * @param options Intervals and batch size.
 * @returns The watch; `stop()` it (or `using` it) when done.
 * @throws {TypeError} for a pool that is not one, or an option that is not a number.
 * @throws {RangeError} when an interval or `maxBatch` is not a positive number, or an
 * interval is longer than 2^31 - 1 ms.
 *
 * @example Count finished tasks from the event batches
 * ```ts
 * import { Pool } from "@seed/pool";
 * import { watchPool } from "@seed/pool/monitor";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, name: "watched" });
 * let finished = 0;
 * const watch = watchPool(pool, (message) => {
 *   if (message.type === "events") {
 *     finished += message.events.filter((e) => e.type === "taskend").length;
 *   }
 * }, { batchMs: 10 });
 * await pool.map((x: number) => x * 2, [1, 2, 3], { chunksize: 1 });
 * watch.stop(); // sends the last batch
 * assert.equal(finished, 3);
 * ```
 */
export function watchPool(
  pool: MonitoredPool,
  onMessage: (message: MonitorMessage) => void,
  options: WatchOptions = {},
): PoolWatch {
  checkMonitoredPool(pool, "watch pool");
  if (typeof onMessage !== "function") {
    throw new TypeError(
      `Cannot watch pool as 'onMessage' must be a function: current value is ${typeof onMessage}`,
    );
  }
  const { snapshotIntervalMs, batchMs, maxBatch } = checkWatchOptions(options, "watch pool");

  let batch: PoolEventRecord[] = [];
  const counts: Record<TaskEventType, number> = { taskqueued: 0, taskstart: 0, taskend: 0 };
  let workerEvents = 0;
  // Task event types whose listener is off until the batch is sent.
  const paused = new Set<TaskEventType>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const onTaskEvent = (event: Event) => {
    const type = event.type as TaskEventType;
    batch.push({ type, detail: (event as CustomEvent).detail } as PoolEventRecord);
    if (++counts[type] >= maxBatch) {
      // Full for this type: stop listening, so the pool stops building these events.
      paused.add(type);
      pool.removeEventListener(type, onTaskEvent);
    }
    flushTimer ??= setTimeout(flush, batchMs);
  };

  const onWorkerEvent = (event: Event) => {
    if (workerEvents++ < MAX_WORKER_EVENTS) {
      batch.push({ type: event.type, detail: (event as CustomEvent).detail } as PoolEventRecord);
    }
    flushTimer ??= setTimeout(flush, batchMs);
  };

  function flush() {
    flushTimer = undefined;
    if (batch.length === 0 && paused.size === 0) return;
    const events = batch;
    const truncated = TASK_EVENT_TYPES.filter((type) => paused.has(type));
    batch = [];
    workerEvents = 0;
    for (const type of TASK_EVENT_TYPES) counts[type] = 0;
    if (!stopped) {
      for (const type of truncated) pool.addEventListener(type, onTaskEvent);
    }
    paused.clear();
    onMessage({ type: "events", events, truncated });
  }

  const snapshot = () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flush();
    onMessage({ type: "snapshot", stats: pool.stats() });
  };

  for (const type of TASK_EVENT_TYPES) pool.addEventListener(type, onTaskEvent);
  for (const type of WORKER_EVENT_TYPES) pool.addEventListener(type, onWorkerEvent);
  const snapshotTimer = setInterval(snapshot, snapshotIntervalMs);
  onMessage({ type: "snapshot", stats: pool.stats() });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    // Paused types have no listener to remove (and removing one anyway would make the pool
    // miscount its listeners).
    const listening = TASK_EVENT_TYPES.filter((type) => !paused.has(type));
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flush();
    for (const type of listening) pool.removeEventListener(type, onTaskEvent);
    for (const type of WORKER_EVENT_TYPES) pool.removeEventListener(type, onWorkerEvent);
    clearInterval(snapshotTimer);
  };
  return { stop, [Symbol.dispose]: stop };
}

/** Checks that `pool` can be watched: it has `stats()` and dispatches events. */
export function checkMonitoredPool(pool: unknown, action: string): void {
  const candidate = pool as Partial<MonitoredPool> | null;
  if (
    candidate === null || typeof candidate !== "object" ||
    typeof candidate.stats !== "function" || typeof candidate.addEventListener !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action} as 'pool' must be a Pool (or an EventTarget with stats()): current ` +
        `value is ${candidate === null ? "null" : typeof candidate}`,
    );
  }
}

/** A watch's options with their defaults, checked: each error names the option. */
export function checkWatchOptions(
  options: WatchOptions | undefined,
  action: string,
): Required<WatchOptions> {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action} as 'options' must be an object: current value is ` +
        (options === null ? "null" : typeof options),
    );
  }
  return {
    snapshotIntervalMs: interval(options.snapshotIntervalMs ?? 1000, "snapshotIntervalMs", action),
    batchMs: interval(options.batchMs ?? 100, "batchMs", action),
    maxBatch: positive(options.maxBatch ?? 50, "maxBatch", action),
  };
}

/** A timer's period: positive, and within what `setTimeout` takes (2^31 - 1 ms). */
function interval(value: unknown, name: string, action: string): number {
  const ms = positive(value, name, action);
  if (ms > MAX_TIMER_MS) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be at most ${MAX_TIMER_MS} ms: current value is ${ms}`,
    );
  }
  return ms;
}

function positive(value: unknown, name: string, action: string): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current value is ${typeof value}`,
    );
  }
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}
