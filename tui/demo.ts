/**
 * The built-in demo: a local pool running an endless, gently paced mix of the seed article's
 * tasks — Monte Carlo π, squares, work of uneven length, a bad input that fails, and a read
 * the task has no permission for.
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";
import { sleep } from "./_sleep.ts";

const tasks = taskModule<typeof import("./demo_tasks.ts")>(
  new URL("./demo_tasks.ts", import.meta.url),
);

/** The folder of the demo's task module: the only thing the demo's workers may read. */
const TASK_DIR = new URL("./", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Creates the demo's pool: named "demo", one worker per core (at least 2), allowed to read
 * only the folder of its task module — so a task that reads anything else fails with
 * `NotCapable`.
 */
export function createDemoPool(): Pool {
  return new Pool({
    name: "demo",
    size: Math.max(2, navigator.hardwareConcurrency || 2),
    permissions: { read: [TASK_DIR] },
  });
}

/**
 * Feeds `pool` the demo workload until `signal` aborts. At most three tasks per worker are
 * in flight, with a short random pause between submissions, so the pool is busy but not
 * saturated. The first seconds include one failure and one permission denial so the error
 * panel fills at once.
 */
export async function runDemoWorkload(pool: Pool, signal: AbortSignal): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  const limit = pool.size * 3;
  const submit = (promise: Promise<unknown>) => {
    // Failures are the point of part of the demo: the dashboard shows them from the events.
    const settled = promise.catch(() => {}).finally(() => inFlight.delete(settled));
    inFlight.add(settled);
  };

  for (let round = 0; !signal.aborted; round++) {
    if (pool.state !== "running") return;
    submit(nextTask(pool, round));
    while (inFlight.size >= limit && !signal.aborted) await Promise.race(inFlight);
    await sleep(60 + Math.random() * 200, signal);
  }
}

function nextTask(pool: Pool, round: number): Promise<unknown> {
  if (round === 6) return pool.apply(tasks.parseReading, ['{"sensor":"t7","value":']);
  if (round === 12) return pool.apply(tasks.readSecret, ["/etc/hostname"]);
  const roll = Math.random();
  if (roll < 0.34) {
    // Mostly short, sometimes long: uneven task lengths.
    const ms = Math.random() < 0.7 ? 50 + Math.random() * 250 : 600 + Math.random() * 1400;
    return pool.apply(tasks.simulateWork, [Math.round(ms)]);
  }
  if (roll < 0.60) {
    return pool.apply(tasks.monteCarloPi, [Math.round(200_000 + Math.random() * 2_000_000)]);
  }
  if (roll < 0.80) {
    const start = Math.floor(Math.random() * 1000);
    return pool.map(tasks.square, Array.from({ length: 100 }, (_, i) => start + i), {
      chunksize: 25,
    });
  }
  if (roll < 0.95) {
    return pool.apply(tasks.parseReading, [
      JSON.stringify({ sensor: `t${round % 9}`, value: 20 + Math.random() * 5 }),
    ]);
  }
  if (roll < 0.98) return pool.apply(tasks.parseReading, ["sensor t3: offline"]);
  return pool.apply(tasks.readSecret, ["/etc/hostname"]);
}
