/**
 * The events a `Pool` dispatches: a typed contract of plain, clone-safe snapshots.
 * Every event is a `CustomEvent` whose `detail` is one of the types below.
 *
 * @module
 */

import type { PermissionsKey } from "./permissions.ts";

/** Whether a worker is a Web Worker thread or a Deno subprocess. */
export type Isolation = "worker" | "process";

/** A worker's life: it starts, alternates idle and busy, and exits. */
export type WorkerState = "starting" | "idle" | "busy" | "exiting";

/** `workerspawn`: a worker was created. */
export interface WorkerSpawnDetail {
  readonly workerId: number;
  /** The canonical key of the worker's permission set (see `permissionsKey`). */
  readonly permissions: PermissionsKey;
  readonly isolation: Isolation;
  /** Wall-clock time, ms since the epoch. */
  readonly time: number;
}

/** Why a worker went away. */
export type WorkerExitReason =
  | "closed" // the pool closed and the worker drained
  | "terminated" // terminate() or dispose of an unclosed pool
  | "crashed" // it died on its own (uncaught error, self.close(), out of memory)
  | "recycled" // maxTasksPerWorker reached
  | "idle" // idleTimeout elapsed
  | "cancelled" // a running task was aborted or timed out, so the worker was stopped
  | "rebalanced"; // retired so that a task of another permission set could have a worker

/** `workerexit`: a worker is gone. */
export interface WorkerExitDetail {
  readonly workerId: number;
  readonly reason: WorkerExitReason;
  /** The crash message when `reason` is `"crashed"`. */
  readonly error?: string;
  readonly time: number;
}

/** `taskqueued`: a task (one call, or one chunk of a map) entered the queue. */
export interface TaskQueuedDetail {
  readonly taskId: number;
  /** The function's name (inline) or `module#export` (task module). */
  readonly task: string;
  /** How many items of a map this task carries (1 for apply). */
  readonly items: number;
  readonly queued: number;
  readonly time: number;
}

/** `taskstart`: a task began to run on a worker. */
export interface TaskStartDetail {
  readonly taskId: number;
  readonly task: string;
  readonly workerId: number;
  readonly waitMs: number;
  readonly time: number;
}

/** `taskend`: a task finished, well or not. */
export interface TaskEndDetail {
  readonly taskId: number;
  readonly task: string;
  /** The worker that ran it, or -1 when it never reached one (cancelled while queued). */
  readonly workerId: number;
  readonly ok: boolean;
  /**
   * The error's class and message when `ok` is false; `cause` is the name of what the task
   * threw (for a `TaskError`: `"NotCapable"`, `"RangeError"`, …).
   */
  readonly error?: { readonly name: string; readonly message: string; readonly cause?: string };
  readonly waitMs: number;
  readonly runMs: number;
  readonly items: number;
  readonly time: number;
}

/** The events of a `Pool`, by type. */
export interface PoolEventMap {
  workerspawn: CustomEvent<WorkerSpawnDetail>;
  workerexit: CustomEvent<WorkerExitDetail>;
  taskqueued: CustomEvent<TaskQueuedDetail>;
  taskstart: CustomEvent<TaskStartDetail>;
  taskend: CustomEvent<TaskEndDetail>;
}

/** The names of the pool's events. */
export type PoolEventType = keyof PoolEventMap;

/** The names of the pool's events, in one list. */
export const POOL_EVENT_TYPES: readonly PoolEventType[] = [
  "workerspawn",
  "workerexit",
  "taskqueued",
  "taskstart",
  "taskend",
];
