/**
 * W4 on the pool: a whole process that creates a pool of 2, runs `apply(identity, [1])`,
 * prints the result and ends.
 *
 * Usage: `deno run -A bench/scripts/w4_pool.ts <worker|process> <graceful|exit>`;
 * `graceful` closes and joins the pool and lets the process end; `exit` calls `Deno.exit`
 * right after printing the first result.
 *
 * @module
 */

import { Pool, taskModule } from "../../mod.ts";

const [isolation = "worker", ending = "graceful"] = Deno.args;
if (isolation !== "worker" && isolation !== "process") throw new Error(`isolation? ${isolation}`);

const tasks = taskModule<typeof import("../tasks.ts")>(new URL("../tasks.ts", import.meta.url));
const pool = new Pool({ size: 2, isolation });
if (pool.stats().isolation !== isolation) {
  console.error(`isolation "${isolation}" is not implemented`);
  Deno.exit(3);
}
console.log(await pool.apply(tasks.identity, [1]));
if (ending === "exit") Deno.exit(0);
pool.close();
await pool.join();
