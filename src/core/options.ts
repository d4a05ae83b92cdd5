/**
 * The options of a pool and of its calls, and the check of a pool's options (in the order
 * their errors are reported).
 *
 * @module
 */

import type { Isolation } from "./events.ts";
import type { Permissions } from "../permissions/descriptor.ts";
import type { ResultCallbacks } from "./results.ts";
import type { TaskFn, TaskRef } from "./task.ts";
import { type ExecutorSource, MAKE_EXECUTOR } from "./executor.ts";
import type { TransportFactory } from "../transport/transport.ts";
import { assertWorkerEntryReadable } from "../transport/web_worker.ts";
import { describe } from "../util/_describe.ts";
import {
  memoryLimit,
  nonNegativeInteger,
  poolSize,
  positiveInteger,
  timeoutMs,
  typeName,
  unknownOption,
} from "./_validate.ts";

/** Options of `new Pool(options)`. */
export interface PoolOptions {
  /** How many workers at most, up to 1024; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** Default permissions of the pool's tasks; default `"inherit"` (Deno's Worker default). */
  permissions?: Permissions;
  /** `"worker"` (Web Worker threads, default) or `"process"` (Deno subprocesses). */
  isolation?: Isolation;
  /**
   * Heap limit per worker in MiB; beyond it a task fails with WorkerCrashError. Needs
   * `isolation: "process"` (else a TypeError).
   */
  memoryLimitMb?: number;
  /** Runs once in each new worker before its first task. */
  initializer?: TaskFn | TaskRef;
  /** Arguments of the initializer. */
  initArgs?: unknown[];
  /** A worker is replaced after running this many tasks (Python's `maxtasksperchild`). */
  maxTasksPerWorker?: number;
  /** At most this many tasks wait for a worker; a submit beyond rejects with QueueFullError. */
  maxQueue?: number;
  /** Idle workers exit after this many ms, and are started again on demand; `Infinity`: never. */
  idleTimeout?: number;
  /** The pool's name in the dashboard and in metrics. */
  name?: string;
  /**
   * Runs every call on the worker hosts of a cluster: what `connectCluster` of
   * `@seed/pool/cluster` returns. The hosts' workers are the capacity, so `size` is not
   * allowed with it.
   */
  cluster?: ClusterHandle;
}

/** A connection to a cluster, as `connectCluster` of `@seed/pool/cluster` returns it. */
export interface ClusterHandle {
  /** The cluster's name. */
  readonly name: string;
}

/** Options of every call. */
export interface CallOptions {
  /** Permissions of this call's tasks; default the pool's. */
  permissions?: Permissions;
  /** Aborting removes queued tasks and stops running ones; the call rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Milliseconds from the call until it is stopped and rejects with `TimeoutError`; any
   * length, `Infinity` for none.
   */
  timeout?: number;
  /** ArrayBuffers (and other transferables) in the arguments to move instead of copy. */
  transfer?: Transferable[];
}

/** Options of `map`, `imap` and `starmap` calls. */
export interface MapOptions extends CallOptions {
  /** Items per task; default an automatic choice (see the README). */
  chunksize?: number;
}

/** Options of `applyAsync`. */
export interface ApplyAsyncOptions<R> extends CallOptions, ResultCallbacks<R> {}

/** Options of `mapAsync` and `starmapAsync`. */
export interface MapAsyncOptions<R> extends MapOptions, ResultCallbacks<R[]> {}

/** Options of `imap` and `imapUnordered`. */
export interface ImapOptions extends MapOptions {
  /** At most this many input items pulled and not yet consumed; default automatic. */
  window?: number;
}

const POOL_OPTION_NAMES = new Set([
  "size",
  "permissions",
  "isolation",
  "memoryLimitMb",
  "initializer",
  "initArgs",
  "maxTasksPerWorker",
  "maxQueue",
  "idleTimeout",
  "name",
  "cluster",
  "transport",
]);

let poolCount = 0;

/** A pool's options, checked; `options` is what was given, for what the pool checks itself. */
export interface CheckedPoolOptions {
  readonly options: PoolOptions & { transport?: TransportFactory };
  readonly size: number;
  readonly name: string;
  readonly isolation: Isolation;
  readonly maxTasksPerWorker: number;
  readonly maxQueue: number;
  readonly idleTimeout: number | undefined;
  readonly memoryLimitMb: number | undefined;
}

/**
 * Checks the argument of `new Pool(…)`: a size, or an options object (the undocumented
 * `transport` option included: a factory of transports, for tests and benchmarks).
 *
 * @throws {TypeError} naming the first option that is wrong.
 */
export function checkPoolOptions(
  sizeOrOptions: number | PoolOptions | undefined,
): CheckedPoolOptions {
  const options: PoolOptions & { transport?: TransportFactory } =
    typeof sizeOrOptions === "number" || sizeOrOptions === undefined
      ? { size: sizeOrOptions as number }
      : sizeOrOptions;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot create pool as its argument must be a size or an options object: current ` +
        `value is ${describe(sizeOrOptions)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!POOL_OPTION_NAMES.has(key)) {
      const documented = [...POOL_OPTION_NAMES].filter((name) => name !== "transport");
      throw unknownOption(key, documented, "create pool", "Pool");
    }
  }
  const cluster = options.cluster;
  if (cluster !== undefined) {
    if (
      cluster === null || typeof cluster !== "object" ||
      typeof (cluster as Partial<ExecutorSource>)[MAKE_EXECUTOR] !== "function"
    ) {
      throw new TypeError(
        `Cannot create pool as 'cluster' must be what connectCluster() of ` +
          `@seed/pool/cluster returns: current value is ${describe(cluster)}`,
      );
    }
    if (options.size !== undefined) {
      throw new TypeError(
        "Cannot create pool as 'size' and 'cluster' exclude each other: a cluster's " +
          "capacity is its hosts' workers (set it with `pool worker -j N`)",
      );
    }
  }
  const size = cluster === undefined ? poolSize(options.size) : 0;
  if (options.name !== undefined && typeof options.name !== "string") {
    throw new TypeError(
      `Cannot create pool as 'name' must be a string: current value is ${typeName(options.name)}`,
    );
  }
  const name = options.name ?? `pool-${++poolCount}`;
  const isolation = options.isolation ?? "worker";
  if (isolation !== "worker" && isolation !== "process") {
    throw new TypeError(
      `Cannot create pool as 'isolation' must be "worker" or "process": current value is ` +
        describe(isolation),
    );
  }
  if (isolation === "worker" && options.transport === undefined && cluster === undefined) {
    assertWorkerEntryReadable();
  }
  const maxTasksPerWorker = options.maxTasksPerWorker === undefined ||
      options.maxTasksPerWorker === Infinity
    ? Infinity
    : positiveInteger(options.maxTasksPerWorker, "maxTasksPerWorker");
  const maxQueue = options.maxQueue === undefined || options.maxQueue === Infinity
    ? Infinity
    : nonNegativeInteger(options.maxQueue, "maxQueue");
  // Infinity: idle workers stay.
  const idleTimeout = options.idleTimeout === undefined ||
      timeoutMs(options.idleTimeout, "idleTimeout", "create pool") === Infinity
    ? undefined
    : options.idleTimeout;
  const memoryLimitMb = options.memoryLimitMb === undefined
    ? undefined
    : memoryLimit(options.memoryLimitMb, isolation);
  return {
    options,
    size,
    name,
    isolation,
    maxTasksPerWorker,
    maxQueue,
    idleTimeout,
    memoryLimitMb,
  };
}

/** Checks the initializer's arguments: an array that can be structured-cloned. */
export function checkInitArgs(given: unknown[] | undefined): unknown[] {
  const initArgs = given ?? [];
  if (!Array.isArray(initArgs)) {
    throw new TypeError(`Cannot create pool as 'initArgs' must be an array`);
  }
  try {
    structuredClone(initArgs);
  } catch (error) {
    throw new TypeError(
      `Cannot create pool as 'initArgs' cannot be structured-cloned: ${(error as Error).message}`,
    );
  }
  return initArgs;
}
