/**
 * How a worker calls a task's function and describes what it threw.
 *
 * @module
 */

import { type TaskFailure, toThrownData } from "../src/wire/thrown.ts";
import type { WireTask } from "../src/wire/protocol.ts";
import type { Loaded, TaskFunction } from "./_loading.ts";

/** A thenable's `then`, called with the value as `this`. */
export type Then = (this: unknown, onFulfilled: unknown, onRejected: unknown) => unknown;

/** The built-in `then`: a real promise is awaited the fast way. */
export const PROMISE_THEN = Promise.prototype.then as Then;

/** A result's `then` method when it is a thenable, else null; throws what reading it throws. */
export function thenOf(value: unknown): Then | null {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return null;
  const then = (value as { then?: unknown }).then;
  return typeof then === "function" ? then as Then : null;
}

/** Calls a task's function as its mode says: once, or over a chunk. */
export function call(fn: TaskFunction, task: WireTask): unknown {
  switch (task.mode) {
    case "apply":
      return fn(...task.args);
    case "map":
      return mapChunk(fn, task.args, false);
    case "starmap":
      return mapChunk(fn, task.args, true);
  }
}

/** Runs a chunk in order; stays synchronous until an element returns a promise. */
function mapChunk(fn: TaskFunction, items: readonly unknown[], spread: boolean): unknown {
  const out = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
      return (async () => {
        out[i] = await value;
        for (let j = i + 1; j < items.length; j++) {
          out[j] = await (spread ? fn(...(items[j] as unknown[])) : fn(items[j]));
        }
        return out;
      })();
    }
    out[i] = value;
  }
  return out;
}

/** The failure every task of a worker whose initializer failed reports. */
export function initializerFailure(cause: TaskFailure): TaskFailure {
  const thrown = cause.thrown;
  const message = thrown.kind === "error" ? thrown.message : "it threw a non-Error value";
  return {
    as: "task",
    thrown: {
      kind: "error",
      name: "InitializerError",
      message: `The pool's initializer failed in this worker: ${message}`,
      stack: thrown.kind === "error" ? thrown.stack : undefined,
      fields: {},
      cause: thrown,
    },
  };
}

const NOT_DEFINED = /^(?:(\S+) is not defined|Cannot access '([^']+)' before initialization)$/;

/** What a task's throw becomes: a missing outer variable of an inline function is named. */
export function describeFailure(thrown: unknown, loaded: Loaded): TaskFailure {
  const data = toThrownData(thrown);
  // From the data, not the thrown value: reading that again might throw.
  if (loaded.inline && data.kind === "error" && data.name === "ReferenceError") {
    const match = NOT_DEFINED.exec(data.message);
    const variable = match?.[1] ?? match?.[2];
    if (variable !== undefined && !(variable in globalThis)) {
      return { as: "task", thrown: data, missingVariable: variable, functionName: loaded.name };
    }
  }
  return { as: "task", thrown: data };
}
