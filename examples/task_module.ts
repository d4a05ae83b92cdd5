/**
 * A typed task module: the functions live in `tasks.ts`, the workers import it, and the
 * types of each export flow into `apply`, `map` and `starmap`.
 *
 * Python has no counterpart to write: it pickles a reference to a module-level function.
 * Here the reference is explicit, and checked by the type checker.
 *
 * Run: `deno run --allow-read examples/task_module.ts`
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";

// Only the types are imported here (`typeof import`); the module itself loads in the workers.
const tasks = taskModule<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url));

await using pool = new Pool(2);

const nine: number = await pool.apply(tasks.square, [3]);
console.log("apply(square, [3]):", nine);

console.log("map(square):", await pool.map(tasks.square, [1, 2, 3, 4]));

// starmap spreads each inner array into the arguments: add(1, 2), add(3, 4), ...
console.log("starmap(add):", await pool.starmap(tasks.add, [[1, 2], [3, 4], [5, 6]]));

const counts: Map<string, number> = await pool.apply(tasks.wordCounts, ["The cat and the hat"]);
console.log("wordCounts:", counts);

console.log("delayed:", await pool.apply(tasks.delayed, ["done", 10]));

// A wrong argument type is a compile error, not a worker error:
// await pool.apply(tasks.square, ["3"]);  // Type 'string' is not assignable to type 'number'
