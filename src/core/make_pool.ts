/**
 * How a `Pool` is put together: refused while a worker imports its task module, its options
 * checked, its executor made (make_executor.ts), then the calls and the life cycle that share
 * that executor. The pool keeps the parts, and each of its methods goes straight to one.
 *
 * @module
 */

import { Calls } from "./calls.ts";
import type { EventSink } from "./executor.ts";
import type { JobHost } from "./jobs.ts";
import { makeExecutor } from "./make_executor.ts";
import { checkPoolOptions, type PoolOptions } from "./options.ts";
import { PoolLifecycle } from "./pool_lifecycle.ts";
import { RunTimeEstimates } from "./scheduler.ts";
import { PoolReport, StatsRecorder, wallClock } from "./stats.ts";
import { FunctionTable } from "./task.ts";

/** Set by a worker while it evaluates a task module (see workers/runtime.ts). */
const IMPORTING_TASK_MODULE = Symbol.for("seed-pool.importing-task-module");

/** What a pool is made of. */
export interface PoolParts {
  /** The calls, the jobs they left open and the pool's state. */
  readonly calls: Calls;
  /** `close`, `terminate`, `join`: the pool's state over time. */
  readonly life: PoolLifecycle;
  /** Its name, its size, its `stats()`. */
  readonly report: PoolReport;
}

/**
 * The parts of a new pool, whose events go to `events`.
 *
 * @throws as `new Pool(…)` documents it.
 */
export function makePool(
  sizeOrOptions: number | PoolOptions | undefined,
  events: EventSink,
): PoolParts {
  if ((globalThis as Record<symbol, unknown>)[IMPORTING_TASK_MODULE]) {
    throw new Error(
      "Cannot create a pool while a worker imports its task module: the module creates a " +
        "pool at its top level, so every worker would start a pool of its own. Guard that " +
        "code with `if (import.meta.main) { ... }`",
    );
  }
  const checked = checkPoolOptions(sizeOrOptions);
  const functions = new FunctionTable();
  const estimates = new RunTimeEstimates();
  const recorder = new StatsRecorder(wallClock());
  const executor = makeExecutor(checked, { functions, estimates, recorder, events });
  const host: JobHost = {
    settled: (job) => life.settled(job),
    cancel: (tasks, reason) => executor.cancel(tasks, reason),
    queueRoom: () => executor.hasQueueRoom(1),
    onQueueRoom: (wake) => executor.onQueueRoom(wake),
  };
  const calls = new Calls(
    checked.isolation,
    executor,
    functions,
    estimates,
    host,
    checked.options.permissions,
  );
  const life = new PoolLifecycle(calls, executor);
  const report = new PoolReport({
    name: checked.name,
    isolation: checked.isolation,
    executor,
    recorder,
    state: () => calls.state,
  });
  return { calls, life, report };
}
