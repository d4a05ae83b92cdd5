/**
 * The messages between the pool and its workers, one file both sides import. Tasks travel
 * in batches: one `run` message may carry many tasks, one `results` message many outcomes,
 * so a busy pool pays one message per batch rather than per task.
 *
 * @module
 */

import type { TaskFailure, ThrownData } from "./errors.ts";

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
  | { readonly type: "cancel"; readonly ids: readonly number[] };

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

/** Worker → pool. */
export type FromWorker =
  | { readonly type: "ready" }
  | WireResults
  /** The worker is about to die on its own; `thrown` says why. */
  | { readonly type: "crash"; readonly thrown: ThrownData };
