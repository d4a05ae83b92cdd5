/**
 * `applyAsync` with a `callback` that prints each result as it arrives.
 *
 * Python:
 * ```py
 * def print_result(result):
 *     print(f"callback got {result}")
 *
 * pool = Pool()
 * for i in range(10):
 *     pool.apply_async(square, args=(i,), callback=print_result)
 * pool.close()
 * pool.join()
 * ```
 *
 * Run: `deno run --allow-read examples/apply_async_callback.ts`
 *
 * @module
 */

import { Pool } from "../mod.ts";

function square(x: number): number {
  return x * x;
}

const pool = new Pool();
for (let i = 0; i < 10; i++) {
  // Callbacks run here, in the main thread, in completion order (not input order).
  pool.applyAsync(square, [i], { callback: (result) => console.log(`callback got ${result}`) });
}
// As in Python: close() takes no new tasks, join() waits for the queued ones to finish.
// join() also waits for their callbacks, so every line above is printed before this one.
pool.close();
await pool.join();
console.log("join() returned: all 10 callbacks have run");
