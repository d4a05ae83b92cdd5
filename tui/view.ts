/**
 * What the dashboard draws: the view model that `reduce` (./model.ts) makes from what the
 * pool reports, one plain object per part of the screen.
 *
 * @module
 */

import type { HostStats, Isolation, LatencySummary, PoolState, WorkerState } from "../mod.ts";

/** One cell of a worker's busy/idle lane: the busy share of one tick, and whether a task failed. */
export interface LaneCell {
  /** 0 (idle the whole tick) to 1 (busy the whole tick). */
  readonly busy: number;
  readonly failed: boolean;
}

/** One worker row. */
export interface WorkerRow {
  readonly id: number;
  /** How the dashboard names it: its id, or `host/n` for the n-th worker of a cluster host. */
  readonly name: string;
  /** The worker host it runs on, for a cluster pool; else absent. */
  readonly host?: string;
  /** `"gone"` after its `workerexit`, until the next snapshot drops it. */
  readonly state: WorkerState | "gone";
  readonly permissions: string;
  readonly isolation: Isolation;
  readonly currentTask: string | null;
  readonly tasksCompleted: number;
  readonly tasksFailed: number;
  /** Busy share of the pool's recent window, 0..1. */
  readonly utilization: number;
  /** Oldest first; at most `LANE_CELLS`. */
  readonly lane: readonly LaneCell[];
}

/** One recent error: a failed task, or a crashed worker. */
export interface ErrorRow {
  readonly time: number;
  readonly task: string;
  /** -1 when the task never reached a worker. */
  readonly workerId: number;
  /** The worker's name (`host/n`) when it runs on a cluster host; else absent. */
  readonly worker?: string;
  readonly name: string;
  readonly message: string;
}

/** Where the data comes from, and whether it is flowing. */
export interface ConnectionView {
  readonly status: "local" | "connecting" | "connected" | "disconnected";
  /** `"demo"` or the monitor's URL. */
  readonly source: string;
  /** Why it dropped, when disconnected. */
  readonly message?: string;
  /** When the next attempt is due (ms since the epoch), when disconnected. */
  readonly retryAt?: number;
}

/** The pool-wide numbers of the header. */
export interface PoolView {
  readonly name: string;
  readonly size: number;
  readonly isolation: Isolation;
  readonly state: PoolState;
  readonly uptimeMs: number;
  /** Items finished well, failed, and stopped before they finished (see `PoolStats`). */
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly queued: number;
  readonly running: number;
  /** Tasks/s over the pool's recent window. */
  readonly throughput: number;
  readonly utilization: number;
  readonly latency: { readonly waitMs: LatencySummary; readonly runMs: LatencySummary };
}

/** Everything the dashboard draws. */
export interface DashboardView {
  readonly connection: ConnectionView;
  /** Null until the first snapshot. */
  readonly pool: PoolView | null;
  readonly workers: readonly WorkerRow[];
  /**
   * The worker hosts of a cluster pool (empty until one joins): joined ones by name, then
   * those that left, the most recent first. Null for a local pool.
   */
  readonly hosts: readonly HostStats[] | null;
  /** Tasks/s per tick, oldest first; at most `THROUGHPUT_SAMPLES`. */
  readonly throughputHistory: readonly number[];
  /** Newest first; at most `MAX_ERRORS`. */
  readonly errors: readonly ErrorRow[];
  /**
   * The pool's clock when a batch last came truncated (the pool was too busy to follow
   * task by task, so events were sampled); 0 if never.
   */
  readonly sampledAt: number;
  /** The pool's clock at the last message (ms since the epoch), 0 before any. */
  readonly time: number;
}
