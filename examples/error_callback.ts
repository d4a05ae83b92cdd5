/**
 * `errorCallback` catching the error that `riskyOperation(3)` throws in a worker.
 *
 * Python:
 * ```py
 * def risky_operation(x):
 *     if x == 3:
 *         raise ValueError(f"Bad value: {x}")
 *     return x * 2
 *
 * def handle_error(e):
 *     print(f"error_callback caught: {e}")
 *
 * with Pool() as pool:
 *     for i in range(5):
 *         pool.apply_async(risky_operation, args=(i,), callback=print, error_callback=handle_error)
 *     pool.close()
 *     pool.join()
 * ```
 *
 * Run: `deno run --allow-read examples/error_callback.ts`
 *
 * @module
 */

import { Pool, TaskError } from "../mod.ts";

function riskyOperation(x: number): number {
  // RangeError is JavaScript's ValueError: the type is right, the value is not.
  if (x === 3) throw new RangeError(`Bad value: ${x}`);
  return x * 2;
}

function handleError(error: unknown): void {
  // The pool wraps what the task threw in a TaskError; `cause` is the original, rebuilt
  // in this thread with its name, message and the worker's stack.
  if (error instanceof TaskError) {
    const original = error.cause as Error;
    console.log(`errorCallback caught TaskError: ${error.message} (thrown as ${original.name})`);
  } else {
    console.log(`errorCallback caught ${error}`);
  }
}

const pool = new Pool();
for (let i = 0; i < 5; i++) {
  pool.applyAsync(riskyOperation, [i], {
    callback: (result) => console.log(`riskyOperation(${i}) = ${result}`),
    errorCallback: handleError,
  });
}
pool.close();
await pool.join(); // waits for the callbacks and the error callback too
