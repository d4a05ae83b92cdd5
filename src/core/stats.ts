/**
 * The pool's `stats()` snapshot, and the recorder behind it. Recording costs a few array
 * writes per finished task; rates and percentiles are only computed when someone asks.
 *
 * @module
 */

import type { Isolation, WorkerState } from "./events.ts";
import type { Executor } from "./executor.ts";
import type { PermissionsKey } from "../permissions/descriptor.ts";
import { taskName } from "./task.ts";
import type { WorkerHandle } from "./worker_handle.ts";

/** p50/p95/p99 of a latency, in ms, over the most recent tasks (0 when there were none). */
export interface LatencySummary {
  /** The median. */
  readonly p50: number;
  /** The 95th percentile. */
  readonly p95: number;
  /** The 99th percentile. */
  readonly p99: number;
}

/** One worker, as `stats()` sees it. */
export interface WorkerStats {
  /** The worker's id, as in events. */
  readonly id: number;
  /** Starting, idle, busy or exiting. */
  readonly state: WorkerState;
  /** The canonical key of its permission set (see `permissionsKey`). */
  readonly permissions: PermissionsKey;
  /** A Web Worker thread (`"worker"`) or a Deno subprocess (`"process"`). */
  readonly isolation: Isolation;
  /** Tasks it finished well. */
  readonly tasksCompleted: number;
  /** Tasks that failed on it. */
  readonly tasksFailed: number;
  /** Time spent running tasks since the worker started, ms. */
  readonly busyMs: number;
  /** Share of the recent window (about 5 s) spent running tasks, 0..1. */
  readonly utilization: number;
  /** The name of the task it is running, or null when idle. */
  readonly currentTask: string | null;
  /** The worker host it runs on, for a cluster pool (see `@seed/pool/cluster`); else absent. */
  readonly host?: string;
}

/** One worker host of a cluster pool, as `stats()` sees it (see `@seed/pool/cluster`). */
export interface HostStats {
  /** The host's name: its `--name`, else `hostname:pid`. */
  readonly name: string;
  /** `"joined"` while it answers, `"left"` once it said goodbye or fell silent. */
  readonly state: "joined" | "left";
  /** The workers it lends to the cluster. */
  readonly workers: number;
  /** Tasks it runs now, of any client. */
  readonly busy: number;
  /** Items it finished well for this pool. */
  readonly completed: number;
  /** Items that failed on it for this pool. */
  readonly failed: number;
  /** Items it finished for this pool per second over the recent window (about 5 s). */
  readonly throughput: number;
  /** When this pool first heard of it, ms since the epoch. */
  readonly joinedAt: number;
  /** When this pool last heard of it, ms since the epoch. */
  readonly lastSeen: number;
}

/** The pool's state: taking tasks, draining after `close()`, or stopped. */
export type PoolState = "running" | "closing" | "terminated";

/** A snapshot of a pool: what `stats()` returns and what the dashboard draws. */
export interface PoolStats {
  /** The pool's name (the `name` option, or `pool-N`). */
  readonly name: string;
  /** The most workers the pool runs at once. */
  readonly size: number;
  /** A Web Worker thread (`"worker"`) or a Deno subprocess (`"process"`). */
  readonly isolation: Isolation;
  /** `"running"`, `"closing"` (after `close()`) or `"terminated"`. */
  readonly state: PoolState;
  /** Every live worker. */
  readonly workers: readonly WorkerStats[];
  /**
   * The worker hosts of a cluster pool, joined and recently left (absent for a local pool):
   * its `workers` are theirs, each named by its host.
   */
  readonly hosts?: readonly HostStats[];
  /**
   * Tasks accepted and not started yet, wherever they wait: in the pool, or held by a worker
   * behind the task it runs. A map chunk is one task.
   */
  readonly queued: number;
  /** Tasks running now: at most one per worker. */
  readonly running: number;
  /**
   * Items finished well since the pool started: an `apply` is one, a map of n items is n,
   * however it was chunked.
   */
  readonly completed: number;
  /** Items that failed: the task threw, its worker died, its arguments could not be sent. */
  readonly failed: number;
  /**
   * Items stopped before they finished: by `timeout`, `signal`, `terminate()`, an `imap`
   * loop left early, or a failure elsewhere in their call.
   */
  readonly cancelled: number;
  /** Items finished (well or not) per second over the recent window. */
  readonly throughput: number;
  /** Share of the pool's capacity (`size` workers) busy over the recent window, 0..1. */
  readonly utilization: number;
  /** Wait (queued to started) and run time percentiles, ms. */
  readonly latency: { readonly waitMs: LatencySummary; readonly runMs: LatencySummary };
  /** Time since the pool was created, ms. */
  readonly uptimeMs: number;
  /** When the snapshot was taken, ms since the epoch. */
  readonly time: number;
}

/** Wall-clock ms since the epoch, in sub-ms resolution: the time base of events and stats. */
export const wallClock = (): number => performance.timeOrigin + performance.now();

const SAMPLES = 1024;
const WINDOW_MS = 5_000;

/** Keeps the most recent latencies in fixed rings, and cumulative counters. */
export class StatsRecorder {
  completed = 0;
  failed = 0;
  cancelled = 0;
  readonly #wait = new Float64Array(SAMPLES);
  readonly #run = new Float64Array(SAMPLES);
  #count = 0;
  #history: { time: number; finished: number; busy: Map<number, number> }[] = [];
  /** @param startedAt Wall-clock ms when the pool was created. */
  constructor(readonly startedAt: number) {}

  /** Records one finished task of `items` items. */
  record(ok: boolean, waitMs: number, runMs: number, items: number): void {
    if (ok) this.completed += items;
    else this.failed += items;
    const slot = this.#count++ & (SAMPLES - 1);
    this.#wait[slot] = waitMs;
    this.#run[slot] = runMs;
  }

  /** Latency percentiles over the most recent tasks. */
  latency(): { waitMs: LatencySummary; runMs: LatencySummary } {
    const n = Math.min(this.#count, SAMPLES);
    return { waitMs: percentiles(this.#wait, n), runMs: percentiles(this.#run, n) };
  }

  /**
   * Rates over the recent window: compares now with the oldest sample younger than the
   * window (or with the pool's start), then remembers now as a sample.
   */
  rates(
    now: number,
    busyByWorker: Map<number, number>,
    size: number,
  ): { throughput: number; utilization: number; perWorker: Map<number, number> } {
    const finished = this.completed + this.failed;
    this.#history = this.#history.filter((s) => now - s.time <= WINDOW_MS);
    const base = this.#history[0] ??
      { time: this.startedAt, finished: 0, busy: new Map<number, number>() };
    const elapsed = Math.max(now - base.time, 1);
    const perWorker = new Map<number, number>();
    let busyTotal = 0;
    for (const [id, busy] of busyByWorker) {
      const delta = Math.max(0, busy - (base.busy.get(id) ?? 0));
      busyTotal += delta;
      perWorker.set(id, Math.min(1, delta / elapsed));
    }
    const last = this.#history.at(-1);
    if (!last || now - last.time >= 250) {
      this.#history.push({ time: now, finished, busy: new Map(busyByWorker) });
    }
    return {
      throughput: ((finished - base.finished) * 1000) / elapsed,
      utilization: Math.min(1, busyTotal / (elapsed * Math.max(size, 1))),
      perWorker,
    };
  }
}

function percentiles(samples: Float64Array, n: number): LatencySummary {
  if (n === 0) return { p50: 0, p95: 0, p99: 0 };
  const sorted = samples.slice(0, n).sort();
  const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** What {@link PoolReport} reads: the pool's name and isolation, and where its figures are. */
export interface PoolReportSources {
  readonly name: string;
  readonly isolation: Isolation;
  /** The workers, the queue and the tasks running. */
  readonly executor: Executor;
  /** The counts, the rates and the latencies. */
  readonly recorder: StatsRecorder;
  /** The pool's state now. */
  readonly state: () => PoolState;
}

/** What a pool reports of itself: its name, its size and its `stats()` snapshot. */
export class PoolReport {
  readonly name: string;
  readonly #sources: PoolReportSources;

  constructor(sources: PoolReportSources) {
    this.name = sources.name;
    this.#sources = sources;
  }

  /** The most workers the pool runs at once: its executor's. */
  get size(): number {
    return this.#sources.executor.size;
  }

  /** The pool's `stats()` now: its executor's workers and counts, the recorder's figures. */
  snapshot(): PoolStats {
    const { executor, recorder } = this.#sources;
    const now = wallClock();
    const workerStats = executor.workerStats(now);
    const rates = recorder.rates(now, workerStats.busy, executor.size);
    const workers = workerStats.list(rates.perWorker);
    return {
      name: this.name,
      size: executor.size,
      isolation: this.#sources.isolation,
      state: this.#sources.state(),
      workers,
      ...(workerStats.hosts ? { hosts: workerStats.hosts } : {}),
      queued: executor.queued,
      running: executor.running,
      completed: recorder.completed,
      failed: recorder.failed,
      cancelled: recorder.cancelled,
      throughput: rates.throughput,
      utilization: rates.utilization,
      latency: recorder.latency(),
      uptimeMs: now - recorder.startedAt,
      time: now,
    };
  }
}

/** Every worker as `stats()` shows it, given their busy time and utilization by id. */
export function workerStatsList(
  workers: Iterable<WorkerHandle>,
  isolation: Isolation,
  busy: ReadonlyMap<number, number>,
  utilization: ReadonlyMap<number, number>,
): WorkerStats[] {
  const list: WorkerStats[] = [];
  for (const worker of workers) {
    const head = worker.inflight.peek();
    list.push({
      id: worker.id,
      state: worker.state,
      permissions: worker.lane.key,
      isolation,
      tasksCompleted: worker.tasksCompleted,
      tasksFailed: worker.tasksFailed,
      busyMs: busy.get(worker.id) ?? 0,
      utilization: utilization.get(worker.id) ?? 0,
      currentTask: head ? taskName(head.definition) : null,
    });
  }
  return list;
}
