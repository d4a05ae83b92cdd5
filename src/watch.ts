/**
 * A pool's event stream, batched for a watcher: what the monitor's `/events` sends and what
 * the dashboard draws. It listens to the pool only while it runs, sends a snapshot at once
 * and then every `snapshotIntervalMs`, and groups the pool's events into batches so that a
 * pool finishing tens of thousands of tasks a second costs its watcher a few messages a
 * second, not one per task.
 *
 * @module
 */

import { POOL_EVENT_TYPES } from "./events.ts";
import type { PoolEventMap, PoolEventType } from "./events.ts";
import type { PoolStats } from "./stats.ts";

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
     * How many events were left out of this batch because it was full. Failed tasks and
     * worker events are kept first; the next snapshot carries the totals either way.
     */
    readonly dropped: number;
  };

/** Options of `watchPool`. */
export interface WatchOptions {
  /** How often to send a snapshot, ms. Default 1000. */
  snapshotIntervalMs?: number;
  /** How long to gather events before sending them as one batch, ms. Default 100. */
  batchMs?: number;
  /** The most events in one batch; the rest are counted in `dropped`. Default 500. */
  maxBatch?: number;
}

/** A running watch; stop it to remove its listeners and timers. */
export interface PoolWatch extends Disposable {
  /** Removes the listeners and timers. Idempotent. */
  stop(): void;
}

/**
 * Watches a pool: calls `onMessage` with a snapshot at once, then with batches of the pool's
 * events and periodic snapshots, until stopped. Listeners are attached only while the watch
 * runs, so a pool nobody watches pays nothing.
 *
 * @param pool The pool (anything with `stats()` that dispatches the pool's events).
 * @param onMessage Called with each message, in order; events always come before the
 * snapshot taken after them.
 * @param options Intervals and batch size.
 * @returns The watch; `stop()` it (or `using` it) when done.
 * @throws {RangeError} when an interval or `maxBatch` is not a positive number.
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
 * await new Promise((resolve) => setTimeout(resolve, 50));
 * watch.stop();
 * assert.equal(finished, 3);
 * ```
 */
export function watchPool(
  pool: MonitoredPool,
  onMessage: (message: MonitorMessage) => void,
  options: WatchOptions = {},
): PoolWatch {
  const snapshotIntervalMs = positive(options.snapshotIntervalMs ?? 1000, "snapshotIntervalMs");
  const batchMs = positive(options.batchMs ?? 100, "batchMs");
  const maxBatch = positive(options.maxBatch ?? 500, "maxBatch");

  let batch: PoolEventRecord[] = [];
  // Failed tasks and worker events are what a watcher must not miss; they get a reserve of
  // their own so a flood of successes cannot push them out of a batch.
  let reserved = 0;
  let dropped = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const flush = () => {
    flushTimer = undefined;
    if (batch.length === 0 && dropped === 0) return;
    const events = batch;
    const droppedNow = dropped;
    batch = [];
    reserved = 0;
    dropped = 0;
    onMessage({ type: "events", events, dropped: droppedNow });
  };

  const onEvent = (event: Event) => {
    const record = { type: event.type, detail: (event as CustomEvent).detail } as PoolEventRecord;
    if (batch.length < maxBatch) {
      batch.push(record);
    } else if (isImportant(record) && reserved < maxBatch) {
      reserved++;
      batch.push(record);
    } else {
      dropped++;
    }
    flushTimer ??= setTimeout(flush, batchMs);
  };

  const snapshot = () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flush();
    onMessage({ type: "snapshot", stats: pool.stats() });
  };

  for (const type of POOL_EVENT_TYPES) pool.addEventListener(type, onEvent);
  const snapshotTimer = setInterval(snapshot, snapshotIntervalMs);
  onMessage({ type: "snapshot", stats: pool.stats() });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const type of POOL_EVENT_TYPES) pool.removeEventListener(type, onEvent);
    clearInterval(snapshotTimer);
    if (flushTimer !== undefined) clearTimeout(flushTimer);
  };
  return { stop, [Symbol.dispose]: stop };
}

function isImportant(record: PoolEventRecord): boolean {
  return record.type === "workerspawn" || record.type === "workerexit" ||
    (record.type === "taskend" && !record.detail.ok);
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot watch pool as '${name}' must be a positive number: current value is ${value}`,
    );
  }
  return value;
}
