/**
 * `Pool`: Python's `multiprocessing.Pool` for Deno. It owns the workers, the lanes of
 * queued tasks (one per permission set), the jobs awaiting results, and the pool's state.
 *
 * @module
 */

import {
  PoolClosedError,
  QueueFullError,
  TimeoutError,
  toCallerError,
  WorkerCrashError,
} from "./errors.ts";
import type {
  Isolation,
  PoolEventMap,
  PoolEventType,
  WorkerExitReason,
  WorkerState,
} from "./events.ts";
import {
  assertPermissionsGrantable,
  assertWorkerOptionsEnabled,
  type CanonicalPermissions,
  canonicalPermissions,
  type Permissions,
  permissionsKey,
} from "./permissions.ts";
import type { CallMode, FromWorker, FunctionDefinition, WireResults } from "./protocol.ts";
import {
  ApplyJob,
  AsyncResult,
  type JobHost,
  MapJob,
  type ResultCallbacks,
  StreamJob,
} from "./results.ts";
import {
  BATCH_TARGET_MS,
  type Job,
  Lane,
  MAX_BATCH,
  MAX_BATCH_BYTES,
  MAX_IN_FLIGHT,
  type PendingTask,
  RunTimeEstimates,
} from "./scheduler.ts";
import { type PoolState, type PoolStats, StatsRecorder, type WorkerStats } from "./stats.ts";
import { FunctionTable, type Task, type TaskFn, taskName, type TaskRef } from "./task.ts";
import { processTransport } from "./process_transport.ts";
import { rememberTaskModule, TASK_MODULES } from "./_task_modules.ts";
import { type TransportFactory, webWorkerTransport } from "./transport.ts";
import { WorkerHandle } from "./worker_handle.ts";
import { binaryBytes, collect, transfersIn } from "./_payload.ts";
import {
  checkArgumentLists,
  checkCallOptions,
  checkIterable,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
} from "./_validate.ts";

/** Options of `new Pool(options)`. */
export interface PoolOptions {
  /** How many workers at most; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** Default permissions of the pool's tasks; default `"inherit"` (Deno's Worker default). */
  permissions?: Permissions;
  /** `"worker"` (Web Worker threads, default) or `"process"` (Deno subprocesses). */
  isolation?: Isolation;
  /** Heap limit per worker in MiB (process isolation); beyond it a task fails with WorkerCrashError. */
  memoryLimitMb?: number;
  /** Runs once in each new worker before its first task. */
  initializer?: TaskFn | TaskRef;
  /** Arguments of the initializer. */
  initArgs?: unknown[];
  /** A worker is replaced after running this many tasks (Python's `maxtasksperchild`). */
  maxTasksPerWorker?: number;
  /** At most this many tasks wait for a worker; a submit beyond rejects with QueueFullError. */
  maxQueue?: number;
  /** Idle workers exit after this many ms, and are started again on demand. */
  idleTimeout?: number;
  /** The pool's name in the dashboard and in metrics. */
  name?: string;
}

/** Options of every call. */
export interface CallOptions {
  /** Permissions of this call's tasks; default the pool's. */
  permissions?: Permissions;
  /** Aborting removes queued tasks and stops running ones; the call rejects with the reason. */
  signal?: AbortSignal;
  /** Milliseconds from the call until it is stopped and rejects with `TimeoutError`. */
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
  "transport",
]);

/** Tasks queued in one synchronous run after which they are sent without waiting for it to end. */
const EAGER_DISPATCH = 64;

/** Set by a worker while it evaluates a task module (see workers/runtime.ts). */
const IMPORTING_TASK_MODULE = Symbol.for("seed-pool.importing-task-module");

const wallClock = () => performance.timeOrigin + performance.now();
let poolCount = 0;

/**
 * A pool of worker threads (or processes) that runs functions in parallel, in the manner
 * of Python's `multiprocessing.Pool`: `apply`, `map`, `imap`, `starmap` and their async
 * forms, `close`/`join`/`terminate`, and `await using` for `with Pool() as p`.
 *
 * @example Squares in parallel
 * ```ts
 * import { Pool } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(2);
 * const squares = await pool.map((x: number) => x * x, [1, 2, 3, 4]);
 * assert.deepEqual(squares, [1, 4, 9, 16]);
 * ```
 */
export class Pool extends EventTarget implements AsyncDisposable {
  readonly #size: number;
  readonly #name: string;
  readonly #isolation: Isolation;
  readonly #defaultLane: Lane;
  readonly #lanes = new Map<string, Lane>();
  readonly #workers = new Set<WorkerHandle>();
  readonly #inflight = new Map<number, PendingTask>();
  readonly #jobs = new Set<Job>();
  readonly #jobCleanups = new Map<Job, () => void>();
  readonly #exiting = new Set<Promise<void>>();
  readonly #functions = new FunctionTable();
  readonly #estimates = new RunTimeEstimates();
  readonly #recorder: StatsRecorder;
  readonly #listening: Record<PoolEventType, number> = {
    workerspawn: 0,
    workerexit: 0,
    taskqueued: 0,
    taskstart: 0,
    taskend: 0,
  };
  readonly #initializer: FunctionDefinition | null;
  readonly #initArgs: readonly unknown[];
  readonly #maxTasksPerWorker: number;
  readonly #maxQueue: number;
  readonly #idleTimeout: number | undefined;
  readonly #memoryLimitMb: number | undefined;
  readonly #transport: TransportFactory;
  readonly #createdAt = wallClock();
  #state: PoolState = "running";
  #liveWorkers = 0;
  #queued = 0;
  #nextTaskId = 1;
  #nextWorkerId = 1;
  #dispatchScheduled = false;
  #sinceDispatch = 0;
  /** The lane a draining worker's slot is promised to. */
  #slotReservedFor: Lane | null = null;
  #submitTime = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: (() => void) | null = null;
  readonly #host: JobHost = {
    settled: (job) => this.#settled(job),
    cancel: (tasks) => this.#cancelTasks(tasks),
  };

  /**
   * Creates a pool. Workers start on demand, up to `size`.
   *
   * @param sizeOrOptions The number of workers, or the pool's options.
   * @throws {RangeError} for a size or limit out of range (the message names it).
   * @throws {TypeError} for an option of the wrong type, or an unknown option.
   * @throws {PermissionError} for permissions this process cannot grant.
   */
  constructor(sizeOrOptions?: number | PoolOptions) {
    super();
    if ((globalThis as Record<symbol, unknown>)[IMPORTING_TASK_MODULE]) {
      throw new Error(
        "Cannot create a pool while a worker imports its task module: the module creates a " +
          "pool at its top level, so every worker would start a pool of its own. Guard that " +
          "code with `if (import.meta.main) { ... }`",
      );
    }
    const options: PoolOptions & { transport?: TransportFactory } =
      typeof sizeOrOptions === "number" || sizeOrOptions === undefined
        ? { size: sizeOrOptions as number }
        : sizeOrOptions;
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot create pool as its argument must be a size or an options object: current ` +
          `value is ${String(sizeOrOptions)}`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!POOL_OPTION_NAMES.has(key)) {
        throw new TypeError(`Cannot create pool as '${key}' is not an option of Pool`);
      }
    }
    this.#size = options.size === undefined
      ? Math.max(1, navigator.hardwareConcurrency || 1)
      : positiveInteger(options.size, "size");
    this.#name = options.name === undefined ? `pool-${++poolCount}` : String(options.name);
    const isolation = options.isolation ?? "worker";
    if (isolation !== "worker" && isolation !== "process") {
      throw new TypeError(
        `Cannot create pool as 'isolation' must be "worker" or "process": current value is ` +
          `${JSON.stringify(isolation)}`,
      );
    }
    this.#isolation = isolation;
    this.#maxTasksPerWorker = options.maxTasksPerWorker === undefined ||
        options.maxTasksPerWorker === Infinity
      ? Infinity
      : positiveInteger(options.maxTasksPerWorker, "maxTasksPerWorker");
    this.#maxQueue = options.maxQueue === undefined || options.maxQueue === Infinity
      ? Infinity
      : nonNegativeInteger(options.maxQueue, "maxQueue");
    this.#idleTimeout = options.idleTimeout === undefined
      ? undefined
      : nonNegativeNumber(options.idleTimeout, "idleTimeout");
    this.#memoryLimitMb = options.memoryLimitMb === undefined
      ? undefined
      : positiveInteger(options.memoryLimitMb, "memoryLimitMb");
    this.#transport = options.transport ?? this.#defaultTransport();
    this.#initializer = options.initializer === undefined
      ? null
      : this.#functions.resolve(options.initializer, "initializer");
    this.#initArgs = options.initArgs ?? [];
    if (!Array.isArray(this.#initArgs)) {
      throw new TypeError(`Cannot create pool as 'initArgs' must be an array`);
    }
    try {
      structuredClone(this.#initArgs);
    } catch (error) {
      throw new TypeError(
        `Cannot create pool as 'initArgs' cannot be structured-cloned: ${(error as Error).message}`,
      );
    }
    this.#defaultLane = this.#laneFor(options.permissions, "permissions");
    this.#recorder = new StatsRecorder(this.#createdAt);
  }

  /** The pool's name, as in metrics and the dashboard. */
  get name(): string {
    return this.#name;
  }

  /** The most workers the pool runs at once. */
  get size(): number {
    return this.#size;
  }

  /** `"running"`, `"closing"` (after `close()`) or `"terminated"`. */
  get state(): PoolState {
    return this.#state;
  }

  /**
   * Runs `fn(...args)` in a worker and resolves with its result.
   *
   * @param fn A self-contained function (its source is sent to the worker), or a task
   * module reference from `taskModule`.
   * @param args The arguments (structured-cloned, or moved with `transfer`).
   * @param options Permissions, cancellation (`signal`, `timeout`), `transfer`.
   * @returns The result; rejects with `TaskError` if `fn` threw, `WorkerCrashError` if its
   * worker died, `TimeoutError`/`signal.reason` if stopped, `PoolClosedError` if closed.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(1);
   * assert.equal(await pool.apply((a: number, b: number) => a * b, [6, 7]), 42);
   * ```
   */
  apply<A extends unknown[], R>(fn: Task<A, R>, args?: A, options?: CallOptions): Promise<R> {
    try {
      return this.#applyJob<R>(fn, args, options, undefined, "apply").promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Starts `fn(...args)` in a worker and returns at once with an `AsyncResult`, as Python's
   * `apply_async`. `callback` gets the result, `errorCallback` the error; `join()` waits
   * for both.
   *
   * @throws {PoolClosedError} when the pool is closed; {TypeError} for a bad argument.
   *
   * @example With a callback
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * const pool = new Pool(2);
   * const seen: number[] = [];
   * for (const x of [1, 2, 3]) {
   *   pool.applyAsync((n: number) => n * 10, [x], { callback: (r) => seen.push(r) });
   * }
   * pool.close();
   * await pool.join();
   * assert.deepEqual(seen.sort((a, b) => a - b), [10, 20, 30]);
   * ```
   */
  applyAsync<A extends unknown[], R>(
    fn: Task<A, R>,
    args?: A,
    options?: ApplyAsyncOptions<R>,
  ): AsyncResult<R> {
    return new AsyncResult(this.#applyJob(fn, args, options, options, "applyAsync").promise);
  }

  /**
   * Calls `fn` on every item, in parallel, and resolves with the results in input order.
   * The input may be any iterable or async iterable; it is read in full first.
   *
   * @param options `chunksize` (items per task; automatic by default), and call options.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(2);
   * const out = await pool.map((x: number) => x + 1, [1, 2, 3], { chunksize: 2 });
   * assert.deepEqual(out, [2, 3, 4]);
   * ```
   */
  map<T, R>(
    fn: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): Promise<R[]> {
    try {
      return this.#mapJob<R>(fn, iterable, options, undefined, "map", "map").promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `map` that returns at once with an `AsyncResult` of the whole list, as Python's
   * `map_async`.
   *
   * @throws {PoolClosedError} when the pool is closed; {TypeError} for a bad argument.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(2);
   * const result = pool.mapAsync((x: number) => x * x, [1, 2, 3]);
   * assert.deepEqual(await result.get(5_000), [1, 4, 9]);
   * ```
   */
  mapAsync<T, R>(
    fn: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: MapAsyncOptions<R>,
  ): AsyncResult<R[]> {
    return new AsyncResult(
      this.#mapJob<R>(fn, iterable, options, options, "map", "mapAsync").promise,
    );
  }

  /**
   * `map` whose items are argument lists: `fn(...item)` for every item, as Python's
   * `starmap`.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(2);
   * const out = await pool.starmap((a: number, b: number) => a ** b, [[2, 3], [3, 2]]);
   * assert.deepEqual(out, [8, 9]);
   * ```
   */
  starmap<A extends unknown[], R>(
    fn: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: MapOptions,
  ): Promise<R[]> {
    try {
      return this.#mapJob<R>(fn, iterable, options, undefined, "starmap", "starmap").promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `starmap` that returns at once with an `AsyncResult`, as Python's `starmap_async`.
   *
   * @throws {PoolClosedError} when the pool is closed; {TypeError} for a bad argument.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(2);
   * const sums = await pool.starmapAsync((a: number, b: number) => a + b, [[1, 2], [3, 4]]);
   * assert.deepEqual(sums, [3, 7]);
   * ```
   */
  starmapAsync<A extends unknown[], R>(
    fn: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: MapAsyncOptions<R>,
  ): AsyncResult<R[]> {
    return new AsyncResult(
      this.#mapJob<R>(fn, iterable, options, options, "starmap", "starmapAsync").promise,
    );
  }

  /**
   * Yields `fn(item)` for every item in input order, pulling the input lazily through a
   * bounded window: an endless input works, memory stays flat, and when the loop stops,
   * pulling stops and the call's pending tasks are dropped.
   *
   * @throws {PoolClosedError} when the pool is closed; {TypeError} for a bad argument.
   *
   * @example Over an endless generator
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * function* naturals() {
   *   for (let n = 0; ; n++) yield n;
   * }
   * await using pool = new Pool(2);
   * const out: number[] = [];
   * for await (const square of pool.imap((x: number) => x * x, naturals())) {
   *   out.push(square);
   *   if (out.length === 5) break;
   * }
   * assert.deepEqual(out, [0, 1, 4, 9, 16]);
   * ```
   */
  imap<T, R>(
    fn: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R> {
    return this.#streamJob<R>(fn, iterable, options, true, "imap");
  }

  /**
   * As `imap`, but yields results in the order they finish.
   *
   * @throws {PoolClosedError} when the pool is closed; {TypeError} for a bad argument.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool(2);
   * const out: number[] = [];
   * for await (const x of pool.imapUnordered((n: number) => n * 2, [1, 2, 3])) out.push(x);
   * assert.deepEqual(out.sort((a, b) => a - b), [2, 4, 6]);
   * ```
   */
  imapUnordered<T, R>(
    fn: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R> {
    return this.#streamJob<R>(fn, iterable, options, false, "imapUnordered");
  }

  /**
   * Takes no more calls; what is queued still runs. Then the workers exit. Call `join()`
   * to wait for that.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * const pool = new Pool(1);
   * const pending = pool.apply((x: number) => x * 2, [21]);
   * pool.close();
   * await pool.join();
   * assert.equal(await pending, 42);
   * ```
   */
  close(): void {
    if (this.#state !== "running") return;
    this.#state = "closing";
    this.#maybeDrained();
  }

  /**
   * Waits until every call has finished (and its callbacks ran) and every worker has
   * exited. Only after `close()` or `terminate()`; before, it rejects.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * const pool = new Pool(1);
   * await assert.rejects(pool.join(), /still running/);
   * pool.close();
   * await pool.join();
   * ```
   */
  async join(): Promise<void> {
    if (this.#state === "running") {
      throw new Error(
        "Cannot join the pool as it is still running: call close() or terminate() first",
      );
    }
    if (this.#jobs.size > 0) {
      await new Promise<void>((resolve) => {
        const previous = this.#drained;
        this.#drained = () => {
          previous?.();
          resolve();
        };
      });
    }
    while (this.#exiting.size > 0) await Promise.all(this.#exiting);
  }

  /**
   * Stops every worker now. Calls not finished reject with `PoolClosedError`.
   *
   * @example
   * ```ts
   * import { Pool, PoolClosedError } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * const pool = new Pool(1);
   * const forever = pool.apply(() => new Promise(() => {}));
   * await pool.terminate();
   * await assert.rejects(forever, PoolClosedError);
   * ```
   */
  async terminate(): Promise<void> {
    if (this.#state !== "terminated") {
      this.#state = "terminated";
      if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
      for (const lane of this.#lanes.values()) {
        for (const task of lane.queue) if (task.state === "queued") task.state = "done";
        lane.queue.clear();
      }
      this.#queued = 0;
      for (const worker of [...this.#workers]) this.#retire(worker, "terminated", false);
      const error = new PoolClosedError("The pool was terminated before the task finished");
      for (const task of this.#inflight.values()) task.state = "done";
      this.#inflight.clear();
      for (const job of [...this.#jobs]) job.fail(null, error);
      this.#maybeDrained();
    }
    await this.join();
  }

  /** `close()` then `join()`: `await using pool = new Pool()` drains and loses nothing. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /**
   * A snapshot of the pool: workers and their state, queue, counts, throughput,
   * utilization and latency percentiles. The dashboard draws exactly this.
   *
   * @example
   * ```ts
   * import { Pool } from "@seed/pool";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ size: 2, name: "squares" });
   * await pool.map((x: number) => x * x, [1, 2, 3]);
   * const stats = pool.stats();
   * assert.equal(stats.name, "squares");
   * assert.ok(stats.completed >= 1);
   * assert.equal(stats.queued, 0);
   * ```
   */
  stats(): PoolStats {
    const now = wallClock();
    const busy = new Map<number, number>();
    for (const worker of this.#workers) busy.set(worker.id, this.#busyMs(worker, now));
    const rates = this.#recorder.rates(now, busy, this.#size);
    const workers: WorkerStats[] = [];
    for (const worker of this.#workers) {
      const head = worker.inflight.peek();
      workers.push({
        id: worker.id,
        state: worker.state,
        permissions: worker.lane.key,
        isolation: this.#isolation,
        tasksCompleted: worker.tasksCompleted,
        tasksFailed: worker.tasksFailed,
        busyMs: busy.get(worker.id) ?? 0,
        utilization: rates.perWorker.get(worker.id) ?? 0,
        currentTask: head ? taskName(head.definition) : null,
      });
    }
    return {
      name: this.#name,
      size: this.#size,
      isolation: this.#isolation,
      state: this.#state,
      workers,
      queued: this.#queued,
      running: this.#inflight.size,
      completed: this.#recorder.completed,
      failed: this.#recorder.failed,
      throughput: rates.throughput,
      utilization: rates.utilization,
      latency: this.#recorder.latency(),
      uptimeMs: now - this.#createdAt,
      time: now,
    };
  }

  /** Listens to a pool event; see `PoolEventMap` for each event's `detail`. */
  override addEventListener<K extends keyof PoolEventMap>(
    type: K,
    listener: ((event: PoolEventMap[K]) => void) | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Listens to any event, by name. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | ((event: Event) => void) | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener as EventListener, options);
    if (listener && type in this.#listening) {
      // Counted, so events nobody listens to are never built. Over-counting (a `once`
      // listener that fired) only costs building an event nobody receives.
      this.#listening[type as PoolEventType]++;
      const signal = typeof options === "object" ? options.signal : undefined;
      signal?.addEventListener("abort", () => this.#listening[type as PoolEventType]--, {
        once: true,
      });
    }
  }

  /** Stops listening to a pool event. */
  override removeEventListener<K extends keyof PoolEventMap>(
    type: K,
    listener: ((event: PoolEventMap[K]) => void) | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Stops listening to any event, by name. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | ((event: Event) => void) | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener as EventListener, options);
    if (listener && type in this.#listening && this.#listening[type as PoolEventType] > 0) {
      this.#listening[type as PoolEventType]--;
    }
  }

  // ---- calls -------------------------------------------------------------------------

  #applyJob<R>(
    fn: unknown,
    args: unknown,
    options: CallOptions | undefined,
    callbacks: ResultCallbacks<R> | undefined,
    method: string,
  ): ApplyJob<R> {
    this.#assertRunning(method);
    if (args === undefined) args = [];
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot ${method} as 'args' must be an array of arguments: current value is ` +
          `${typeof args}`,
      );
    }
    checkCallOptions(options, method);
    const definition = this.#functions.resolve(fn, "fn");
    const lane = options?.permissions === undefined
      ? this.#defaultLane
      : this.#laneFor(options.permissions, "options.permissions");
    const job = new ApplyJob<R>(this.#host, callbacks);
    const task = this.#newTask(job, 0, definition, "apply", args, 1, options?.transfer, lane);
    this.#assertQueueRoom(1, method);
    job.task = task;
    this.#jobs.add(job);
    this.#enqueue(task);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    return job;
  }

  #mapJob<R>(
    fn: unknown,
    iterable: unknown,
    options: MapOptions | undefined,
    callbacks: ResultCallbacks<R[]> | undefined,
    mode: CallMode,
    method: string,
  ): MapJob<R> {
    this.#assertRunning(method);
    checkIterable(iterable, method);
    checkCallOptions(options, method);
    const definition = this.#functions.resolve(fn, "fn");
    const lane = options?.permissions === undefined
      ? this.#defaultLane
      : this.#laneFor(options.permissions, "options.permissions");
    const job = new MapJob<R>(this.#host, callbacks);
    this.#jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    const submit = (items: readonly unknown[]) => {
      if (job.settled) return;
      if (mode === "starmap") checkArgumentLists(items, method);
      const chunksize = options?.chunksize ??
        this.#estimates.chunksize(definition.fnId, items.length, this.#size);
      const chunks = Math.ceil(items.length / chunksize);
      this.#assertQueueRoom(chunks, method);
      job.expect(items.length);
      for (let start = 0; start < items.length; start += chunksize) {
        const chunk = items.slice(start, start + chunksize);
        const transfer = options?.transfer ? transfersIn(chunk, options.transfer) : undefined;
        const task = this.#newTask(
          job,
          start,
          definition,
          mode,
          chunk,
          chunk.length,
          transfer,
          lane,
        );
        job.add(task);
        this.#enqueue(task);
      }
    };
    const fail = (error: unknown) => job.fail(null, error);
    if (Array.isArray(iterable)) {
      try {
        submit(iterable);
      } catch (error) {
        fail(error);
      }
    } else {
      collect(iterable as Iterable<unknown> | AsyncIterable<unknown>).then((items) => {
        if (this.#state === "terminated") {
          fail(new PoolClosedError("The pool was terminated before the input was read"));
        } else submit(items);
      }).catch(fail);
    }
    return job;
  }

  #streamJob<R>(
    fn: unknown,
    iterable: unknown,
    options: ImapOptions | undefined,
    ordered: boolean,
    method: string,
  ): StreamJob<R> {
    this.#assertRunning(method);
    checkIterable(iterable, method);
    checkCallOptions(options, method);
    if (options?.window !== undefined) positiveInteger(options.window, "window", method);
    const definition = this.#functions.resolve(fn, "fn");
    const lane = options?.permissions === undefined
      ? this.#defaultLane
      : this.#laneFor(options.permissions, "options.permissions");
    const chunksize = options?.chunksize === undefined
      ? () => this.#estimates.chunksize(definition.fnId, undefined, this.#size)
      : () => options.chunksize!;
    const window = options?.window ??
      Math.max(64, this.#size * 4 * (options?.chunksize ?? 256));
    const job: StreamJob<R> = new StreamJob<R>(
      this.#host,
      iterable as Iterable<unknown> | AsyncIterable<unknown>,
      ordered,
      chunksize,
      window,
      (items, index) => {
        if (this.#state === "terminated") {
          throw new PoolClosedError("The pool was terminated before the input was read");
        }
        this.#assertQueueRoom(1, method);
        const transfer = options?.transfer ? transfersIn(items, options.transfer) : undefined;
        const task = this.#newTask(
          job,
          index,
          definition,
          "map",
          items,
          items.length,
          transfer,
          lane,
        );
        this.#enqueue(task);
        return task;
      },
    );
    this.#jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    job.start();
    return job;
  }

  #newTask(
    job: Job,
    index: number,
    definition: FunctionDefinition,
    mode: CallMode,
    args: readonly unknown[],
    items: number,
    transfer: Transferable[] | undefined,
    lane: Lane,
  ): PendingTask {
    return {
      id: this.#nextTaskId++,
      job,
      index,
      definition,
      mode,
      args,
      transfer,
      items,
      lane,
      queuedAt: this.#submitClock(),
      state: "queued",
      worker: null,
      expectedMs: 0,
      startedAt: 0,
      bytes: binaryBytes(args),
    };
  }

  #enqueue(task: PendingTask): void {
    task.lane.queue.push(task);
    this.#queued++;
    if (this.#listening.taskqueued) {
      this.#emit("taskqueued", {
        taskId: task.id,
        task: taskName(task.definition),
        items: task.items,
        queued: this.#queued,
        time: task.queuedAt,
      });
    }
    // A long loop of submits: send what has gathered now, so workers start during the loop.
    if (++this.#sinceDispatch >= EAGER_DISPATCH) this.#dispatch();
    this.#scheduleDispatch();
  }

  /** Wires `signal` and `timeout` to the job; undone when the job settles. */
  #arm(job: Job, options: CallOptions): void {
    const { signal, timeout } = options;
    if (signal?.aborted) {
      job.fail(null, signal.reason);
      return;
    }
    const onAbort = () => job.fail(null, signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeout === undefined ? undefined : setTimeout(() => {
      job.fail(
        null,
        new TimeoutError(`The call did not finish within its timeout of ${timeout} ms`),
      );
    }, timeout);
    this.#jobCleanups.set(job, () => {
      signal?.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
    });
  }

  #settled(job: Job): void {
    this.#jobs.delete(job);
    const cleanup = this.#jobCleanups.get(job);
    if (cleanup) {
      this.#jobCleanups.delete(job);
      cleanup();
    }
    if (this.#jobs.size === 0) this.#maybeDrained();
  }

  /** Closing and nothing left: let the workers go and wake `join()`. */
  #maybeDrained(): void {
    if (this.#state === "running" || this.#jobs.size > 0) return;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    for (const worker of [...this.#workers]) this.#retire(worker, "closed", false);
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }

  // ---- lanes and workers ---------------------------------------------------------------

  #laneFor(permissions: Permissions | undefined, where: string): Lane {
    let canonical: CanonicalPermissions | undefined = undefined;
    if (permissions !== undefined) {
      const checked = canonicalPermissions(permissions, where);
      if (checked !== "inherit") {
        assertPermissionsGrantable(checked);
        if (this.#isolation === "worker") assertWorkerOptionsEnabled();
        canonical = checked;
      }
    }
    const key = canonical === undefined ? "inherit" : permissionsKey(canonical);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = new Lane(key, canonical);
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #defaultTransport(): TransportFactory {
    return this.#isolation === "worker" ? webWorkerTransport : processTransport;
  }

  #spawn(lane: Lane): WorkerHandle {
    const worker = new WorkerHandle(this.#nextWorkerId++, lane, wallClock());
    if (this.#isolation === "worker" && lane.permissions !== undefined) {
      worker.preloaded = new Set(TASK_MODULES);
    }
    worker.transport = this.#transport({
      workerId: worker.id,
      permissions: lane.permissions,
      memoryLimitMb: this.#memoryLimitMb,
      listener: {
        message: (message) => this.#onMessage(worker, message),
        exit: (error) => this.#onWorkerDeath(worker, error),
      },
    });
    worker.transport.send({
      type: "init",
      workerId: worker.id,
      initializer: this.#initializer,
      initArgs: this.#initArgs,
    });
    lane.workers.add(worker);
    this.#workers.add(worker);
    this.#liveWorkers++;
    if (this.#listening.workerspawn) {
      this.#emit("workerspawn", {
        workerId: worker.id,
        permissions: lane.key,
        isolation: this.#isolation,
        time: wallClock(),
      });
    }
    return worker;
  }

  /** Takes a worker out of service and stops it; tasks it held go back to the queue. */
  #retire(worker: WorkerHandle, reason: WorkerExitReason, requeue = true, error?: unknown): void {
    if (worker.state === "exiting") return;
    worker.state = "exiting";
    worker.lane.workers.delete(worker);
    this.#liveWorkers--;
    if (requeue) {
      const held = [...worker.inflight].reverse();
      for (const task of held) {
        if (task.state !== "sent") continue;
        this.#inflight.delete(task.id);
        task.state = "queued";
        task.worker = null;
        task.lane.queue.unshift(task);
        this.#queued++;
      }
    }
    worker.inflight.clear();
    const exit = worker.transport.terminate().finally(() => {
      this.#workers.delete(worker);
      this.#exiting.delete(exit);
    });
    this.#exiting.add(exit);
    if (this.#listening.workerexit) {
      const detail = error === undefined
        ? { workerId: worker.id, reason, time: wallClock() }
        : { workerId: worker.id, reason, error: messageOf(error), time: wallClock() };
      this.#emit("workerexit", detail);
    }
    if (requeue) this.#scheduleDispatch();
  }

  #onWorkerDeath(worker: WorkerHandle, error: unknown): void {
    if (worker.state === "exiting") return;
    const victim = worker.inflight.shift();
    this.#retire(worker, "crashed", true, error);
    if (victim && victim.state === "sent") {
      this.#inflight.delete(victim.id);
      victim.state = "done";
      worker.tasksFailed++;
      const crash = new WorkerCrashError(
        `Worker ${worker.id} died while running task '${taskName(victim.definition)}': ` +
          messageOf(error),
        { cause: error },
      );
      const now = wallClock();
      this.#recorder.record(false, Math.max(0, victim.startedAt - victim.queuedAt), 0);
      this.#emitTaskEnd(victim, worker.id, false, crash, now - victim.startedAt, now);
      victim.job.fail(victim, crash);
    }
  }

  #onMessage(worker: WorkerHandle, message: FromWorker): void {
    switch (message.type) {
      case "ready":
        if (worker.state === "starting") {
          worker.state = worker.inflight.length > 0 ? "busy" : "idle";
        }
        return;
      case "results":
        this.#onResults(worker, message);
        return;
      case "crash":
        this.#onWorkerDeath(worker, toCallerErrorOfCrash(message.thrown));
        return;
      default:
        message satisfies never;
    }
  }

  #onResults(worker: WorkerHandle, results: WireResults): void {
    if (worker.state === "exiting") return;
    const taskEnds = this.#listening.taskend > 0;
    const { ids, starts, runMs, values, failures } = results;
    let nextFailure = 0;
    for (let i = 0; i < ids.length; i++) {
      const failure = failures[nextFailure]?.[0] === i ? failures[nextFailure++]![1] : null;
      const task = this.#inflight.get(ids[i]!);
      if (task === undefined || task.worker !== worker) continue; // cancelled meanwhile
      const start = starts[i]!;
      const ran = runMs[i]!;
      this.#inflight.delete(task.id);
      if (worker.inflight.peek() === task) worker.inflight.shift();
      else worker.inflight.remove(task);
      worker.inflightMs -= task.expectedMs;
      task.state = "done";
      // Tasks that ran within one batch were never the head here: they started anyway.
      if (task.startedAt === 0) this.#started(task, worker, start);
      this.#estimates.observe(task.definition.fnId, ran, task.items);
      worker.busyMs += ran;
      this.#recorder.record(failure === null, Math.max(0, start - task.queuedAt), ran);
      if (failure === null) {
        worker.tasksCompleted++;
        if (taskEnds) this.#emitTaskEnd(task, worker.id, true, undefined, ran, start);
        task.job.complete(task, values[i]);
      } else {
        worker.tasksFailed++;
        const error = toCallerError(failure);
        if (taskEnds) this.#emitTaskEnd(task, worker.id, false, error, ran, start);
        task.job.fail(task, error);
      }
    }
    if ((worker.state as WorkerState) === "exiting") return;
    if (worker.inflight.length === 0) {
      worker.inflightMs = 0;
      worker.state = worker.state === "starting" ? "starting" : "idle";
      if (worker.sent >= this.#maxTasksPerWorker) {
        this.#retire(worker, "recycled");
      } else if (worker.draining) {
        this.#retire(worker, "rebalanced");
      } else if (this.#idleTimeout !== undefined) {
        worker.idleSince = wallClock();
        this.#armIdleSweep();
      }
    } else this.#markStarted(worker);
    if (this.#queued > 0) this.#scheduleDispatch();
  }

  /** The head of a worker's in-flight tasks is the one it runs now. */
  #markStarted(worker: WorkerHandle): void {
    const head = worker.inflight.peek();
    if (head && head.startedAt === 0) this.#started(head, worker, wallClock());
  }

  #started(task: PendingTask, worker: WorkerHandle, time: number): void {
    task.startedAt = time;
    if (this.#listening.taskstart) {
      this.#emit("taskstart", {
        taskId: task.id,
        task: taskName(task.definition),
        workerId: worker.id,
        waitMs: Math.max(0, time - task.queuedAt),
        time,
      });
    }
  }

  #busyMs(worker: WorkerHandle, now: number): number {
    const head = worker.inflight.peek();
    return worker.busyMs + (head && head.startedAt ? Math.max(0, now - head.startedAt) : 0);
  }

  #armIdleSweep(): void {
    if (this.#idleTimer !== undefined || this.#idleTimeout === undefined) return;
    const timeout = this.#idleTimeout;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const now = wallClock();
      let waiting = false;
      for (const worker of [...this.#workers]) {
        if (worker.state !== "idle") continue;
        if (now - worker.idleSince >= timeout) this.#retire(worker, "idle");
        else waiting = true;
      }
      if (waiting) this.#armIdleSweep();
    }, timeout);
  }

  // ---- dispatch ------------------------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // Deferred to a microtask, so a loop of submits is sent as one batch per worker.
    queueMicrotask(() => {
      this.#dispatchScheduled = false;
      this.#dispatch();
    });
  }

  /**
   * The time of submits, read once per synchronous run of them (until the next dispatch):
   * a loop of 20,000 submits then costs one clock read, not 20,000.
   */
  #submitClock(): number {
    if (this.#submitTime === 0) this.#submitTime = wallClock();
    return this.#submitTime;
  }

  #dispatch(): void {
    this.#sinceDispatch = 0;
    this.#submitTime = 0;
    if (this.#state === "terminated") return;
    for (const lane of this.#lanes.values()) {
      if (lane.queue.length === 0) continue;
      this.#ensureWorkers(lane);
      let accepting = 0;
      for (const worker of lane.workers) if (worker.accepting) accepting++;
      for (const worker of lane.workers) {
        if (lane.queue.length === 0) break;
        if (worker.accepting) this.#fill(worker, lane, accepting);
      }
    }
  }

  /** Starts workers for a lane's queued tasks, within the pool's size, sharing it fairly. */
  #ensureWorkers(lane: Lane): void {
    let idle = 0;
    for (const worker of lane.workers) if (worker.inflight.length === 0) idle++;
    let wanted = Math.min(this.#queued, lane.queue.length) - idle;
    while (wanted > 0) {
      // A slot freed for a starving lane is kept for it, while it still has work.
      if (this.#slotReservedFor !== null && this.#slotReservedFor.queue.length === 0) {
        this.#slotReservedFor = null;
      }
      const reserved = this.#slotReservedFor !== null && this.#slotReservedFor !== lane ? 1 : 0;
      if (this.#liveWorkers + reserved >= this.#size && !this.#freeSlotFor(lane)) return;
      if (this.#slotReservedFor === lane) this.#slotReservedFor = null;
      try {
        this.#spawn(lane);
      } catch (error) {
        // No worker can start for this lane (a missing permission, a bad entry): its
        // tasks can never run, so they fail now rather than wait forever.
        this.#failQueued(lane, error);
        return;
      }
      wanted--;
    }
  }

  /**
   * Makes room for a lane that has fewer workers than its fair share of `size` by retiring
   * an idle worker of another lane. Returns whether a slot is free now.
   */
  #freeSlotFor(lane: Lane): boolean {
    let busyLanes = 0;
    for (const other of this.#lanes.values()) {
      if (other.queue.length > 0 || other.workers.size > 0) busyLanes++;
    }
    const fairShare = Math.max(1, Math.floor(this.#size / Math.max(busyLanes, 1)));
    if (lane.workers.size >= fairShare) return false;
    for (const other of this.#lanes.values()) {
      if (other === lane) continue;
      for (const worker of other.workers) {
        if (worker.inflight.length === 0 && worker.state !== "starting") {
          this.#retire(worker, "rebalanced");
          return true;
        }
      }
    }
    // No idle worker elsewhere: one worker of the lane with the most workers beyond its
    // share (or with any, when this lane has none at all) takes no more tasks and retires
    // when idle. One at a time: a slot already on its way is enough.
    let donor: Lane | undefined;
    for (const other of this.#lanes.values()) {
      if (other === lane) continue;
      for (const worker of other.workers) if (worker.draining) return false;
      const spare = other.workers.size - (lane.workers.size === 0 ? 0 : fairShare);
      if (spare > 0 && (!donor || other.workers.size > donor.workers.size)) donor = other;
    }
    const worker = donor && [...donor.workers].find((w) => w.state !== "exiting");
    if (worker) {
      worker.draining = true;
      this.#slotReservedFor = lane;
    }
    return false;
  }

  /** Sends a worker as many queued tasks as fill its batch. */
  #fill(worker: WorkerHandle, lane: Lane, workersInLane: number): void {
    let share = Math.ceil(lane.queue.length / workersInLane);
    // Several messages rather than one big one: the worker sends each batch's results as
    // it ends, so it is never idle while the pool reads results and sends the next.
    while (share > 0 && lane.queue.length > 0) {
      // While more tasks wait than there are workers, a worker also holds one batch beyond
      // the task it runs, so it never waits for the pool between tasks. Near the end of
      // the queue it holds no more than it runs, so no task waits behind a long one while
      // another worker is idle.
      const deep = lane.queue.length > workersInLane;
      let count = worker.inflight.length;
      let ahead = worker.inflightMs;
      if (deep && count > 0) ahead -= worker.inflight.peek()!.expectedMs;
      if (count > 0 && ahead >= BATCH_TARGET_MS) return;
      const room = Math.min(
        MAX_IN_FLIGHT - count,
        this.#maxTasksPerWorker - worker.sent,
        share,
        MAX_BATCH,
      );
      if (room <= 0) return;
      const batch: PendingTask[] = [];
      let bytes = 0;
      while (batch.length < room && lane.queue.length > 0) {
        if (count > 0 && ahead >= BATCH_TARGET_MS) break;
        // Big binary arguments go in messages of their own: the worker starts on the first
        // while the next is still being copied.
        if (batch.length > 0 && bytes + lane.queue.peek()!.bytes > MAX_BATCH_BYTES) break;
        const task = lane.queue.shift()!;
        if (task.state !== "queued") continue; // cancelled while queued
        if (!this.#canLoad(worker, task)) {
          // Started without this task module: a fresh worker will have it.
          lane.queue.unshift(task);
          worker.draining = true;
          break;
        }
        task.expectedMs = this.#estimates.expectedMs(task);
        if (!(deep && count === 0)) ahead += task.expectedMs;
        count++;
        bytes += task.bytes;
        batch.push(task);
      }
      if (batch.length === 0) {
        if (worker.draining && worker.inflight.length === 0) this.#retire(worker, "recycled");
        return;
      }
      share -= batch.length;
      this.#queued -= batch.length;
      this.#sendBatch(worker, batch);
      if (worker.state === "exiting") return;
    }
  }

  /** Whether a worker can import the task's module (see src/_task_modules.ts). */
  #canLoad(worker: WorkerHandle, task: PendingTask): boolean {
    const definition = task.definition;
    if (worker.preloaded === null || definition.kind !== "module") return true;
    if (worker.preloaded.has(definition.url) || !definition.url.startsWith("file:")) return true;
    rememberTaskModule(definition.url);
    return false;
  }

  #sendBatch(worker: WorkerHandle, batch: PendingTask[]): void {
    try {
      worker.send(batch);
    } catch (error) {
      if (batch.length === 1) {
        this.#failUnsendable(batch[0]!, error);
        return;
      }
      // Something in the batch cannot be cloned: find out which, one task at a time.
      for (const task of batch) this.#sendBatch(worker, [task]);
      return;
    }
    const wasIdle = worker.inflight.length === 0;
    for (const task of batch) {
      task.state = "sent";
      task.worker = worker;
      worker.inflight.push(task);
      worker.inflightMs += task.expectedMs;
      this.#inflight.set(task.id, task);
    }
    worker.sent += batch.length;
    if (worker.state === "idle") worker.state = "busy";
    if (wasIdle) this.#markStarted(worker);
  }

  #failQueued(lane: Lane, error: unknown): void {
    const failure = new WorkerCrashError(`Cannot start a worker: ${messageOf(error)}`, {
      cause: error,
    });
    for (let task = lane.queue.shift(); task; task = lane.queue.shift()) {
      if (task.state !== "queued") continue;
      task.state = "done";
      this.#queued--;
      task.job.fail(task, failure);
    }
  }

  #failUnsendable(task: PendingTask, error: unknown): void {
    task.state = "done";
    const what = task.mode === "apply" ? "arguments" : "items";
    task.job.fail(
      task,
      new TypeError(
        `Cannot send the ${what} of task '${taskName(task.definition)}' to a worker as they ` +
          `cannot be structured-cloned: ${messageOf(error)}`,
        { cause: error },
      ),
    );
  }

  /** Drops queued tasks and stops sent ones (a running one takes its worker with it). */
  #cancelTasks(tasks: Iterable<PendingTask>): void {
    const cancels = new Map<WorkerHandle, number[]>();
    for (const task of tasks) {
      if (task.state === "queued") {
        task.state = "done";
        this.#queued--;
        this.#emitTaskEnd(task, -1, false, new Error("cancelled"), 0, wallClock());
      } else if (task.state === "sent") {
        const worker = task.worker!;
        task.state = "done";
        this.#inflight.delete(task.id);
        this.#emitTaskEnd(task, worker.id, false, new Error("cancelled"), 0, wallClock());
        if (worker.inflight.peek() === task) {
          worker.inflight.shift();
          // Deno cannot interrupt a running task: its worker is stopped and replaced.
          this.#retire(worker, "cancelled");
        } else {
          worker.inflight.remove(task);
          worker.inflightMs -= task.expectedMs;
          let ids = cancels.get(worker);
          if (!ids) cancels.set(worker, ids = []);
          ids.push(task.id);
        }
      }
    }
    for (const [worker, ids] of cancels) {
      if (worker.state !== "exiting") worker.transport.send({ type: "cancel", ids });
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  #assertRunning(method: string): void {
    if (this.#state !== "running") {
      throw new PoolClosedError(
        `Cannot ${method} as the pool is ${this.#state === "closing" ? "closed" : "terminated"}`,
      );
    }
  }

  #assertQueueRoom(tasks: number, method: string): void {
    if (this.#maxQueue === Infinity) return;
    let idleSlots = this.#size - this.#liveWorkers;
    for (const worker of this.#workers) {
      if (worker.state !== "exiting" && worker.inflight.length === 0) idleSlots++;
    }
    if (this.#queued + tasks > this.#maxQueue + Math.max(0, idleSlots)) {
      throw new QueueFullError(
        `Cannot ${method} as the queue is full: ${this.#queued} tasks wait and 'maxQueue' ` +
          `is ${this.#maxQueue}`,
      );
    }
  }

  #emitTaskEnd(
    task: PendingTask,
    workerId: number,
    ok: boolean,
    error: unknown,
    runMs: number,
    start: number,
  ): void {
    if (!this.#listening.taskend) return;
    const base = {
      taskId: task.id,
      task: taskName(task.definition),
      workerId,
      ok,
      waitMs: Math.max(0, start - task.queuedAt),
      runMs,
      items: task.items,
      time: wallClock(),
    };
    this.#emit(
      "taskend",
      ok ? base : {
        ...base,
        error: errorSummary(error),
      },
    );
  }

  #emit<K extends PoolEventType>(type: K, detail: PoolEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function toCallerErrorOfCrash(thrown: Parameters<typeof toCallerError>[0]["thrown"]): unknown {
  const error = toCallerError({ as: "task", thrown });
  return (error as Error).cause ?? error;
}

function errorSummary(error: unknown): { name: string; message: string; cause?: string } {
  const name = (error as Error)?.name ?? "Error";
  const cause = (error as Error)?.cause;
  const causeName = cause instanceof Error || (cause !== null && typeof cause === "object")
    ? (cause as Error).name
    : undefined;
  return typeof causeName === "string"
    ? { name, message: messageOf(error), cause: causeName }
    : { name, message: messageOf(error) };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
