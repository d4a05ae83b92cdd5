/**
 * Monte Carlo π in 4 tasks: each task throws darts at the unit square and counts the ones
 * that land inside the quarter circle; π ≈ 4 × hits / darts.
 *
 * Python:
 * ```py
 * def count_hits(n):
 *     return sum(1 for _ in range(n) if random.random() ** 2 + random.random() ** 2 <= 1)
 *
 * with Pool(4) as pool:
 *     hits = pool.map(count_hits, [n // 4] * 4)
 * print(4 * sum(hits) / n)
 * ```
 *
 * Run: `deno run --allow-read examples/monte_carlo_pi.ts`
 *
 * @module
 */

import { Pool } from "../mod.ts";

function countHits(darts: number): number {
  let hits = 0;
  for (let i = 0; i < darts; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) hits++;
  }
  return hits;
}

const TASKS = 4;
const DARTS_PER_TASK = 1_000_000;

await using pool = new Pool(TASKS);
const hits = await pool.map(countHits, new Array<number>(TASKS).fill(DARTS_PER_TASK), {
  chunksize: 1,
});
const estimate = 4 * hits.reduce((a, b) => a + b, 0) / (TASKS * DARTS_PER_TASK);

console.log(`π ≈ ${estimate.toFixed(5)} from ${TASKS} tasks × ${DARTS_PER_TASK} darts`);
console.log(`error: ${Math.abs(estimate - Math.PI).toFixed(5)}`);
