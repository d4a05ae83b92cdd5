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

/** One task as sent to a worker. */
export interface WireTask {
  readonly id: number;
  readonly fnId: number;
  readonly mode: CallMode;
  readonly args: readonly unknown[];
}

/** Pool → worker. */
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
    readonly tasks: readonly WireTask[];
  }
  | { readonly type: "cancel"; readonly ids: readonly number[] };

/** One task's outcome. `start` is wall-clock ms (timeOrigin + now), `runMs` its duration. */
export type WireResult =
  | {
    readonly id: number;
    readonly ok: true;
    readonly value: unknown;
    readonly start: number;
    readonly runMs: number;
  }
  | {
    readonly id: number;
    readonly ok: false;
    readonly failure: TaskFailure;
    readonly start: number;
    readonly runMs: number;
  };

/** Worker → pool. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "results"; readonly results: readonly WireResult[] }
  /** The worker is about to die on its own; `thrown` says why. */
  | { readonly type: "crash"; readonly thrown: ThrownData };
