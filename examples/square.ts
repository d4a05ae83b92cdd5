/**
 * Squares with `map` and `mapAsync`: the article's first example.
 *
 * Python:
 * ```py
 * with Pool(4) as pool:
 *     print(pool.map(square, [1, 2, 3, 4, 5]))
 *     print(pool.map_async(square, range(10)).get())
 * ```
 *
 * Run: `deno run --allow-read examples/square.ts`
 *
 * @module
 */

import { Pool } from "../mod.ts";

/** Self-contained (it reads nothing from outside), so the pool can ship its source to workers. */
function square(x: number): number {
  return x * x;
}

// `await using` is Python's `with`: leaving the scope closes the pool and waits for its workers.
await using pool = new Pool(4);

// map blocks until every result is in, and keeps input order.
console.log("map:", await pool.map(square, [1, 2, 3, 4, 5]));

// mapAsync returns at once with an AsyncResult; get() waits for the whole list.
const pending = pool.mapAsync(square, Array.from({ length: 10 }, (_, i) => i));
console.log("mapAsync:", await pending.get());
