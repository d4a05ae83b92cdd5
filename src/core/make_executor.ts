/**
 * How a pool makes its executor (the seam of executor.ts): the pool's checked options become
 * an {@link ExecutorContext}; a pool given the option `cluster` (an {@link ExecutorSource})
 * has it make the executor, under the key {@link MAKE_EXECUTOR}; any other runs on the local
 * `Dispatcher`, with this process's Web Workers or subprocesses.
 *
 * @module
 */

import { Dispatcher } from "./dispatcher.ts";
import {
  type EventSink,
  type Executor,
  type ExecutorContext,
  type ExecutorSource,
  MAKE_EXECUTOR,
} from "./executor.ts";
import { type CheckedPoolOptions, checkInitArgs } from "./options.ts";
import type { RunTimeEstimates } from "./scheduler.ts";
import type { StatsRecorder } from "./stats.ts";
import type { FunctionTable } from "./task.ts";
import { processTransport } from "../transport/process.ts";
import { webWorkerTransports } from "../transport/web_worker.ts";

/** What the pool keeps and shares with its executor. */
export interface PoolShared {
  /** The functions the pool's calls resolved, the initializer among them. */
  readonly functions: FunctionTable;
  readonly estimates: RunTimeEstimates;
  readonly recorder: StatsRecorder;
  /** The pool's events. */
  readonly events: EventSink;
}

/**
 * The executor of a pool: the cluster's, given one, else the local dispatcher.
 *
 * @throws {TypeError} for an `initializer` or `initArgs` of the wrong type.
 */
export function makeExecutor(checked: CheckedPoolOptions, shared: PoolShared): Executor {
  const { options, isolation } = checked;
  const initializer = options.initializer === undefined
    ? null
    : shared.functions.resolve(options.initializer, "initializer");
  const initArgs = checkInitArgs(options.initArgs);
  const context: ExecutorContext = {
    name: checked.name,
    isolation,
    isolationGiven: options.isolation !== undefined,
    initializer,
    initArgs,
    maxTasksPerWorker: checked.maxTasksPerWorker,
    maxQueue: checked.maxQueue,
    idleTimeout: checked.idleTimeout,
    memoryLimitMb: checked.memoryLimitMb,
    estimates: shared.estimates,
    recorder: shared.recorder,
    events: shared.events,
  };
  const cluster = options.cluster as ExecutorSource | undefined;
  return cluster?.[MAKE_EXECUTOR](context) ?? new Dispatcher({
    ...context,
    size: checked.size,
    transport: options.transport ??
      (isolation === "worker" ? webWorkerTransports() : processTransport),
  });
}
