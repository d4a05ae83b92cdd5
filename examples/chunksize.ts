/**
 * `map` with a `chunksize` of 100 over 10,000 items: each message to a worker carries 100
 * items instead of one, so tiny tasks are not drowned by messaging.
 *
 * Python:
 * ```py
 * with Pool() as pool:
 *     results = pool.map(square, range(10_000), chunksize=100)
 * ```
 *
 * Run: `deno run --allow-read examples/chunksize.ts`
 *
 * @module
 */

import { Pool } from "../mod.ts";

function square(x: number): number {
  return x * x;
}

const items = Array.from({ length: 10_000 }, (_, i) => i);

await using pool = new Pool();
// 10,000 items / 100 per chunk = 100 messages. Leave chunksize out and the pool picks one.
const results = await pool.map(square, items, { chunksize: 100 });

const sum = results.reduce((total, x) => total + x, 0);
console.log(
  `${results.length} results in chunks of 100: first ${results[0]}, last ${results.at(-1)}, ` +
    `sum ${sum}`,
);
