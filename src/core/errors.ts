/**
 * The pool's named errors, and the error a caller sees for a failed task (built from the
 * plain data a worker sends back, see `src/wire/thrown.ts`).
 *
 * @module
 */

import { fromThrownData, type TaskFailure, thrownMessage } from "../wire/thrown.ts";

/**
 * A task threw (or rejected). `message` is the original message; `cause` is the original
 * error rebuilt in this thread with the same `name`, `message`, remote `stack` and own
 * fields such as `code`. A thrown non-Error value (a string, `null`, a plain object) is the
 * `cause` as it was thrown.
 *
 * @example Inspect the original error
 * ```ts
 * import { Pool, TaskError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const err = await pool.apply(() => {
 *   throw Object.assign(new RangeError("too big"), { code: "E_BIG" });
 * }).catch((e) => e);
 * assert.ok(err instanceof TaskError);
 * assert.equal(err.message, "too big");
 * assert.equal((err.cause as RangeError).name, "RangeError");
 * assert.equal((err.cause as { code: string }).code, "E_BIG");
 * ```
 */
export class TaskError extends Error {
  /** Creates a task error whose `cause` is what the task threw. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskError";
  }
}

/**
 * The worker running the task died: an uncaught error outside the task, an unhandled
 * rejection, `self.close()`, `Deno.exit()`, or (in process isolation) out of memory or a
 * signal. The pool replaces the worker; only the task that was running fails.
 *
 * @example
 * ```ts
 * import { Pool, WorkerCrashError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const err = await pool.apply(() => new Promise(() => self.close())).catch((e) => e);
 * assert.ok(err instanceof WorkerCrashError);
 * assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
 * ```
 */
export class WorkerCrashError extends Error {
  /** Creates a crash error; `cause` is the worker's uncaught error when there was one. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashError";
  }
}

/**
 * A call's `timeout` elapsed, or `AsyncResult.get(timeoutMs)` waited in vain.
 *
 * @example
 * ```ts
 * import { Pool, TimeoutError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const slow = () => new Promise((resolve) => setTimeout(resolve, 10_000));
 * await assert.rejects(pool.apply(slow, [], { timeout: 50 }), TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  /** Creates a timeout error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The pool no longer takes tasks (`close()` or `terminate()` was called), or the task was
 * still pending when `terminate()` ran.
 *
 * @example
 * ```ts
 * import { Pool, PoolClosedError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool(1);
 * pool.close();
 * await assert.rejects(pool.apply((x: number) => x, [1]), PoolClosedError);
 * await pool.join();
 * ```
 */
export class PoolClosedError extends Error {
  /** Creates a pool-closed error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/**
 * A submit found `maxQueue` tasks already waiting.
 *
 * @example
 * ```ts
 * import { Pool, QueueFullError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, maxQueue: 1 });
 * const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * const first = pool.apply(sleep, [50]);
 * const second = pool.apply(sleep, [50]);
 * await assert.rejects(pool.apply(sleep, [50]), QueueFullError);
 * await Promise.all([first, second]);
 * ```
 */
export class QueueFullError extends Error {
  /** Creates a queue-full error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueFullError";
  }
}

/**
 * Permissions were asked that cannot be enforced: more than this process has, or (in
 * `"worker"` isolation) Deno's `--unstable-worker-options` flag is missing. The task never
 * runs with broader rights than asked.
 *
 * @example
 * ```ts
 * import { PermissionError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const err = new PermissionError("Cannot grant 'run': this process does not have it");
 * assert.ok(err instanceof Error);
 * assert.equal(err.name, "PermissionError");
 * ```
 */
export class PermissionError extends Error {
  /** Creates a permission error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermissionError";
  }
}

/** The error a caller sees for a failed task. */
export function toCallerError(failure: TaskFailure): Error {
  const cause = fromThrownData(failure.thrown);
  if (failure.missingVariable !== undefined) {
    const fn = failure.functionName ? `Task '${failure.functionName}'` : "An inline task function";
    return new TaskError(
      `${fn} uses '${failure.missingVariable}' from its outer scope, which does not exist ` +
        `in the worker: pass '${failure.missingVariable}' as an argument, or export the ` +
        `function from a task module (taskModule)`,
      { cause },
    );
  }
  if (failure.as === "type") return new TypeError(thrownMessage(failure.thrown), { cause });
  return new TaskError(thrownMessage(failure.thrown), { cause });
}
