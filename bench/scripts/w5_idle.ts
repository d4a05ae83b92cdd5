/**
 * W5: a process holding an idle pool (or raw workers) of N after each worker ran one task,
 * whose peak RSS the bench reads with `/usr/bin/time -v`.
 *
 * Usage: `deno run -A bench/scripts/w5_idle.ts <bare|raw|pool> [size]`. Prints `ok`.
 *
 * @module
 */

// Imports are dynamic, so that each kind loads only what it measures.

const [kind = "bare", sizeText = "2"] = Deno.args;
const size = Number(sizeText);
/** Long enough for a task to keep its worker busy while the others take theirs. */
const TASK_MS = 20;
/** Idle time before exit, so the workers are measured at rest as well. */
const IDLE_MS = 200;

const idle = () => new Promise((resolve) => setTimeout(resolve, IDLE_MS));

if (kind === "bare") {
  await idle();
} else if (kind === "raw") {
  const { RawWorkers } = await import("../floors.ts");
  const raw = await RawWorkers.start(size, "sleepSync");
  await Promise.all(Array.from({ length: size }, (_, i) => raw.callOn(i, TASK_MS)));
  await idle();
  raw.close();
} else if (kind === "pool") {
  const { Pool, taskModule } = await import("../../mod.ts");
  const tasks = taskModule<typeof import("../tasks.ts")>(new URL("../tasks.ts", import.meta.url));
  const pool = new Pool(size);
  // A pool may give two tasks to one worker; repeat until every worker has run one.
  const everyWorkerRan = () => {
    const { workers } = pool.stats();
    return workers.length === size && workers.every((worker) => worker.tasksCompleted > 0);
  };
  for (let round = 0; round < 20 && !everyWorkerRan(); round++) {
    await Promise.all(
      Array.from({ length: size }, () => pool.applyAsync(tasks.sleepSync, [TASK_MS])),
    );
  }
  if (!everyWorkerRan()) {
    console.error(`not every one of the ${size} workers ran a task`);
    Deno.exit(3);
  }
  await idle();
  pool.close();
  await pool.join();
} else {
  throw new Error(`kind? ${kind}`);
}
console.log("ok");
