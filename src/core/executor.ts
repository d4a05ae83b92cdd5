/**
 * The executor seam: what `Pool` asks of whatever runs its tasks. The pool keeps the calls,
 * the jobs, chunking, windows and its own life cycle; an executor keeps the lanes (one per
 * permission set), the queue, the workers and the tasks in flight on them, and reports each
 * task's outcome to its job (`job.complete` / `job.fail`) and to the pool's events.
 *
 * The local `Dispatcher` (this process's Web Workers or subprocesses) implements it today;
 * a cluster adapter (tasks sent to workers on other machines) is meant to implement it
 * next, without the pool changing. See docs/architecture.md.
 *
 * @module
 */

import type { PoolClosedError } from "./errors.ts";
import type { Isolation } from "./events.ts";
import type { FunctionDefinition } from "../wire/protocol.ts";
import type { RunTimeEstimates } from "./scheduler.ts";
import type { StatsRecorder } from "./stats.ts";
import type { PoolEventMap, PoolEventType } from "./events.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { Lane, PendingTask, TaskSpec } from "./scheduler.ts";
import type { HostStats, WorkerStats } from "./stats.ts";

/** Where an executor's events go: the pool, which counts its listeners. */
export interface EventSink {
  /** How many listeners each event has: events nobody listens to are never built. */
  readonly listening: Readonly<Record<PoolEventType, number>>;
  /** Dispatches an event. */
  emit<K extends PoolEventType>(type: K, detail: PoolEventMap[K]["detail"]): void;
}

/** The workers as `stats()` shows them: busy time (ms) by id, then the rows. */
export interface WorkerStatsSnapshot {
  readonly busy: Map<number, number>;
  /** The rows, given each worker's utilization (by id) that the pool worked out. */
  list(utilization: Map<number, number>): WorkerStats[];
  /** A cluster's hosts, joined and recently left; absent for the local dispatcher. */
  readonly hosts?: readonly HostStats[];
}

/** What runs a pool's tasks. Every method is synchronous unless it returns a promise. */
export interface Executor {
  /** The workers it may run at once: the pool's `size` (a cluster's: its hosts' now). */
  readonly size: number;
  /**
   * Whether tasks run in this process's workers, so that their permissions must be ones
   * this process can grant; false for a cluster, whose hosts check them.
   */
  readonly local: boolean;
  /** Tasks accepted and not started: queued, or held by a worker behind the one it runs. */
  readonly queued: number;
  /** Tasks running now. */
  readonly running: number;
  /** The lane of a permission set (by its canonical key), made on first use. */
  lane(key: string, permissions: CanonicalPermissions | undefined): Lane;
  /**
   * A new task, not queued yet: the pool adds it to its job first. On the hot path of
   * every call: one object in (the spec), one task out.
   */
  newTask(spec: TaskSpec): PendingTask;
  /** Queues a task in its lane; it is sent soon (at the latest after this synchronous run). */
  enqueue(task: PendingTask): void;
  /**
   * Stops and forgets unfinished tasks: queued ones are dropped, running ones stopped;
   * `reason` is what their `taskend` events say.
   */
  cancel(tasks: Iterable<PendingTask>, reason: unknown): void;
  /** Throws `QueueFullError` when `tasks` more would pass the pool's `maxQueue`. */
  assertQueueRoom(tasks: number, method: string): void;
  /** Whether `tasks` more fit under the pool's `maxQueue` now. */
  hasQueueRoom(tasks: number): boolean;
  /** Calls `wake` once, when one more task fits under `maxQueue` again. */
  onQueueRoom(wake: () => void): void;
  /** The workers as `stats()` shows them, at time `now` (ms since the epoch). */
  workerStats(now: number): WorkerStatsSnapshot;
  /** Lets every worker go: the pool closed and nothing is left to run. */
  retireAll(): void;
  /** Stops everything now: drops the queue and the tasks in flight, stops every worker. */
  stop(reason: PoolClosedError): void;
  /** Resolves when every worker being stopped is gone. */
  exited(): Promise<void>;
}

/** What the pool gives an executor that it makes: its options, checked, and its sinks. */
export interface ExecutorContext {
  readonly name: string;
  readonly isolation: Isolation;
  /** Whether `isolation` was asked for, rather than the default. */
  readonly isolationGiven: boolean;
  readonly initializer: FunctionDefinition | null;
  readonly initArgs: readonly unknown[];
  readonly maxTasksPerWorker: number;
  readonly maxQueue: number;
  readonly idleTimeout: number | undefined;
  readonly memoryLimitMb: number | undefined;
  readonly estimates: RunTimeEstimates;
  readonly recorder: StatsRecorder;
  readonly events: EventSink;
}

/** The key under which a cluster (see `@seed/pool/cluster`) makes a pool's executor. */
export const MAKE_EXECUTOR: unique symbol = Symbol.for("seed-pool.make-executor");

/**
 * What the pool option `cluster` takes: something that makes the executor of a pool, as
 * `connectCluster` of `@seed/pool/cluster` returns.
 */
export interface ExecutorSource {
  /** Makes the executor of one pool. */
  [MAKE_EXECUTOR](context: ExecutorContext): Executor;
}
