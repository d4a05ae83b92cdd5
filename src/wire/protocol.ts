/**
 * The messages between the pool and its workers, one file both sides import. Tasks travel
 * in batches: one `run` message may carry many tasks, one `results` message many outcomes,
 * so a busy pool pays one message per batch rather than per task.
 *
 * @module
 */

import type { TaskFailure, ThrownData } from "./thrown.ts";

/** How a task's function is found in the worker: compiled from source, or imported. */
export type FunctionDefinition =
  | {
    readonly kind: "inline";
    readonly fnId: number;
    readonly name: string;
    readonly source: string;
  }
  | {
    readonly kind: "module";
    readonly fnId: number;
    readonly url: string;
    readonly exportName: string;
  };

/**
 * How a task calls its function: `apply` calls it once with `args`; `map` calls it on each
 * element of `args` and returns the list; `starmap` spreads each element as arguments.
 */
export type CallMode = "apply" | "map" | "starmap";

/** The call modes by their wire number. */
export const CALL_MODES: readonly CallMode[] = ["apply", "map", "starmap"];

/** One task, as the worker keeps it in its queue. */
export interface WireTask {
  readonly id: number;
  readonly fnId: number;
  readonly mode: CallMode;
  readonly args: readonly unknown[];
}

/**
 * Pool → worker. A `run` message carries its tasks column by column: arrays of numbers
 * clone about three times faster than an object per task (and, for one task, faster than
 * typed arrays, whose buffers cost an allocation each).
 */
export type ToWorker =
  | {
    readonly type: "init";
    readonly workerId: number;
    readonly initializer: FunctionDefinition | null;
    readonly initArgs: readonly unknown[];
  }
  | {
    readonly type: "run";
    /** Functions this worker has not seen yet, defined before the tasks run. */
    readonly defines: readonly FunctionDefinition[];
    readonly ids: readonly number[];
    readonly fnIds: readonly number[];
    /** Indexes into {@link CALL_MODES}. */
    readonly modes: readonly number[];
    readonly args: readonly (readonly unknown[])[];
  }
  | { readonly type: "cancel"; readonly ids: readonly number[] }
  /**
   * Functions the worker may drop (no task it holds needs them): the pool sends a function
   * again before a task of it, so a worker's cache stays as small as the pool keeps it.
   */
  | { readonly type: "forget"; readonly fnIds: readonly number[] }
  | LoneTask;

/**
 * One task of a function the worker knows, as a plain array: the form of a lone call. An
 * array clones without its keys, so it costs less than even a hand-written `{ id, arg }`
 * (bench W1, one in flight); every other message is an object with a `type`.
 */
export type LoneTask = readonly [
  id: number,
  fnId: number,
  /** Index into {@link CALL_MODES}. */
  mode: number,
  args: readonly unknown[],
];

/**
 * Outcomes of a batch of tasks, column by column. `starts` are wall-clock ms (timeOrigin +
 * now), `runMs` durations. `values[i]` is task `ids[i]`'s result unless `failures` lists `i`.
 */
export interface WireResults {
  readonly type: "results";
  readonly ids: readonly number[];
  readonly starts: readonly number[];
  readonly runMs: readonly number[];
  readonly values: readonly unknown[];
  readonly failures: readonly (readonly [index: number, failure: TaskFailure])[];
}

/**
 * One task that succeeded, when it is the only outcome to send: the lone call's form, a
 * plain array as {@link LoneTask} is. `start` is wall-clock ms, `runMs` a duration.
 */
export type LoneResult = readonly [id: number, start: number, runMs: number, value: unknown];

/** Worker → pool. */
export type FromWorker =
  | { readonly type: "ready" }
  | WireResults
  | LoneResult
  /**
   * The worker is about to die on its own; `thrown` says why. `idle`: no task was running
   * (a timer left behind threw between tasks), so the tasks it holds never started.
   */
  | {
    readonly type: "crash";
    readonly thrown: ThrownData;
    /** No task was running: those it holds never started. */
    readonly idle?: true;
    /**
     * The id of the task that was running: the one to fail (the pool may have cancelled it
     * already, and then none of those it still holds is to blame).
     */
    readonly running?: number;
  };

/** Whether a message to a worker is a {@link LoneTask} (every other one is an object). */
export function isLoneTask(message: ToWorker): message is LoneTask {
  return Array.isArray(message);
}

/** Whether a message from a worker is a {@link LoneResult} (every other one is an object). */
export function isLoneResult(message: FromWorker): message is LoneResult {
  return Array.isArray(message);
}

/**
 * The memory a Web Worker shares with its transport, sent as the worker's very first
 * message (before `init`): how the pool tells, once it has stopped a worker, whether the
 * thread is stuck in code that Deno cannot interrupt (src/transport/web_worker.ts). Int32 slot
 * {@link IN_TASK_SLOT} is 1 while the runtime runs tasks synchronously; Float64 slot
 * {@link HEARTBEAT_SLOT} is the `Date.now()` of the worker's last event-loop heartbeat
 * (every {@link HEARTBEAT_MS}), 0 before the first.
 */
export const SHARED_BYTES = 16;
export const IN_TASK_SLOT = 0;
export const HEARTBEAT_SLOT = 1;
export const HEARTBEAT_MS = 500;
