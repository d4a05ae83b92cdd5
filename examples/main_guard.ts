/**
 * The `import.meta.main` guard: Deno's `if __name__ == "__main__":`.
 *
 * Python's spawn start method starts each worker process by importing the main module, to
 * find the functions it is asked to run. Code at the top of that module would run again in
 * every worker, so the pool code goes under `if __name__ == "__main__":`.
 *
 * The same happens here. This file is its own task module: `cube` is found by workers that
 * import this very file (`taskModule(import.meta.url)`). When a worker imports it,
 * `import.meta.main` is false, so only the export is defined and the pool code below does
 * not run again. Without the guard each worker, while importing this file, would create a
 * pool of its own, whose workers would do the same, and so on: the program never finishes,
 * and its threads and memory grow until it is killed.
 *
 * Inline functions need no guard: they travel as source, and workers never import your file.
 *
 * Python:
 * ```py
 * def cube(x):
 *     return x ** 3
 *
 * if __name__ == "__main__":
 *     with Pool(2) as pool:
 *         print(pool.map(cube, range(1, 6)))
 * ```
 *
 * Run: `deno run --allow-read examples/main_guard.ts`
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";

/** Exported so that workers, importing this module, can find it. */
export function cube(x: number): number {
  return x ** 3;
}

if (import.meta.main) {
  // Typed by this module's own exports: `tasks.cube` takes a number and gives a number.
  const tasks = taskModule<typeof import("./main_guard.ts")>(import.meta.url);
  await using pool = new Pool(2);
  console.log(await pool.map(tasks.cube, [1, 2, 3, 4, 5]));
}
