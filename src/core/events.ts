/**
 * The events a `Pool` dispatches: a typed contract of plain, clone-safe snapshots.
 * Every event is a `CustomEvent` whose `detail` is one of the types below.
 *
 * @module
 */

import type { PermissionsKey } from "../permissions/descriptor.ts";
import type { EventSink } from "./executor.ts";
import type { PendingTask } from "./scheduler.ts";
import { wallClock } from "./stats.ts";
import { taskName } from "./task.ts";

/** Whether a worker is a Web Worker thread or a Deno subprocess. */
export type Isolation = "worker" | "process";

/** A worker's life: it starts, alternates idle and busy, and exits. */
export type WorkerState = "starting" | "idle" | "busy" | "exiting";

/** `workerspawn`: a worker was created. */
export interface WorkerSpawnDetail {
  /** The worker's id, unique within its pool. */
  readonly workerId: number;
  /** The canonical key of the worker's permission set (see `permissionsKey`). */
  readonly permissions: PermissionsKey;
  /** A Web Worker thread (`"worker"`) or a Deno subprocess (`"process"`). */
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
  /** The worker's id, unique within its pool. */
  readonly workerId: number;
  /** Why it went away. */
  readonly reason: WorkerExitReason;
  /** The crash message when `reason` is `"crashed"`. */
  readonly error?: string;
  /** When it happened, ms since the epoch. */
  readonly time: number;
}

/** `taskqueued`: a task (one call, or one chunk of a map) entered the queue. */
export interface TaskQueuedDetail {
  /** The task's id, unique within its pool. */
  readonly taskId: number;
  /** The function's name (inline) or `module#export` (task module). */
  readonly task: string;
  /** How many items of a map this task carries (1 for apply). */
  readonly items: number;
  /** Tasks waiting for a worker, this one included. */
  readonly queued: number;
  /** When it happened, ms since the epoch. */
  readonly time: number;
}

/** `taskstart`: a task began to run on a worker. */
export interface TaskStartDetail {
  /** The task's id, unique within its pool. */
  readonly taskId: number;
  /** The function's name (inline) or export name (task module). */
  readonly task: string;
  /** The worker's id, unique within its pool. */
  readonly workerId: number;
  /** Time from queued to started, ms. */
  readonly waitMs: number;
  /** When it happened, ms since the epoch. */
  readonly time: number;
}

/** `taskend`: a task finished, well or not. */
export interface TaskEndDetail {
  /** The task's id, unique within its pool. */
  readonly taskId: number;
  /** The function's name (inline) or export name (task module). */
  readonly task: string;
  /** The worker that ran it, or -1 when it never reached one (cancelled while queued). */
  readonly workerId: number;
  /** Whether the task succeeded. */
  readonly ok: boolean;
  /**
   * The error's class and message when `ok` is false; `cause` is the name of what the task
   * threw (for a `TaskError`: `"NotCapable"`, `"RangeError"`, …).
   */
  readonly error?: { readonly name: string; readonly message: string; readonly cause?: string };
  /**
   * True when the task was stopped before it finished: by `timeout`, `signal`,
   * `terminate()`, an `imap` loop left early, or a failure elsewhere in its call. `error`
   * is then that reason, and `runMs` how long it had run.
   */
  readonly cancelled?: boolean;
  /** Time from queued to started, ms. */
  readonly waitMs: number;
  /** Time the task ran, ms. */
  readonly runMs: number;
  /** How many items of a map the task carried (1 for apply). */
  readonly items: number;
  /** When it happened, ms since the epoch. */
  readonly time: number;
}

/** The events of a `Pool`, by type. */
export interface PoolEventMap {
  /** A worker was created. */
  workerspawn: CustomEvent<WorkerSpawnDetail>;
  /** A worker is gone. */
  workerexit: CustomEvent<WorkerExitDetail>;
  /** A task entered the queue. */
  taskqueued: CustomEvent<TaskQueuedDetail>;
  /** A task began to run on a worker. */
  taskstart: CustomEvent<TaskStartDetail>;
  /** A task finished, well or not. */
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

/** The detail of a `taskqueued` event for a task just queued. */
export function taskQueuedDetail(task: PendingTask, queued: number): TaskQueuedDetail {
  return {
    taskId: task.id,
    task: taskName(task.definition),
    items: task.items,
    queued,
    time: task.queuedAt,
  };
}

/** The detail of a `taskend` event; `start` is when it started (or failed, never sent). */
export function taskEndDetail(
  task: PendingTask,
  workerId: number,
  ok: boolean,
  error: unknown,
  runMs: number,
  start: number,
  cancelled: boolean,
): TaskEndDetail {
  const base = {
    taskId: task.id,
    task: taskName(task.definition),
    workerId,
    ok,
    waitMs: Math.max(0, start - task.queuedAt),
    runMs,
    items: task.items,
    time: wallClock(),
  };
  return ok
    ? base
    : cancelled
    ? { ...base, error: errorSummary(error), cancelled: true }
    : { ...base, error: errorSummary(error) };
}

function errorSummary(error: unknown): { name: string; message: string; cause?: string } {
  const name = (error as Error)?.name ?? "Error";
  const cause = (error as Error)?.cause;
  const causeName = cause instanceof Error || (cause !== null && typeof cause === "object")
    ? (cause as Error).name
    : undefined;
  return typeof causeName === "string"
    ? { name, message: messageOf(error), cause: causeName }
    : { name, message: messageOf(error) };
}

/** The message of an error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Emits a `taskend` when anyone listens. */
export function emitTaskEnd(
  events: EventSink,
  task: PendingTask,
  workerId: number,
  ok: boolean,
  error: unknown,
  runMs: number,
  start: number,
  cancelled = false,
): void {
  if (!events.listening.taskend) return;
  events.emit("taskend", taskEndDetail(task, workerId, ok, error, runMs, start, cancelled));
}
