/**
 * `Pool`: Python's `multiprocessing.Pool` for Deno. It owns the workers, the lanes of
 * queued tasks (one per permission set), the jobs awaiting results, and the pool's state.
 *
 * @module
 */

import { Dispatcher } from "./dispatcher.ts";
import type { Executor } from "./executor.ts";
import {
  type ApplyAsyncOptions,
  type CallOptions,
  checkInitArgs,
  checkPoolOptions,
  type ImapOptions,
  type MapAsyncOptions,
  type MapOptions,
  type PoolOptions,
} from "./options.ts";
import { PoolClosedError, TimeoutError } from "./errors.ts";
import type { Isolation, PoolEventMap, PoolEventType } from "./events.ts";
import {
  assertPermissionsGrantable,
  type CanonicalPermissions,
  canonicalPermissions,
  type Permissions,
  permissionsKey,
} from "../permissions/descriptor.ts";
import { assertWorkerOptionsEnabled } from "../permissions/deno_config.ts";
import type { CallMode, FunctionDefinition } from "../wire/protocol.ts";
import { ApplyJob, type JobHost, MapJob } from "./jobs.ts";
import { StreamJob } from "./stream_job.ts";
import { AsyncResult, type ResultCallbacks } from "./results.ts";
import { type Job, type Lane, MAX_BATCH_BYTES, RunTimeEstimates } from "./scheduler.ts";
import { type PoolState, type PoolStats, StatsRecorder, wallClock } from "./stats.ts";
import { FunctionTable, type Task } from "./task.ts";
import { processTransport } from "../transport/process.ts";
import { webWorkerTransports } from "../transport/web_worker.ts";
import { binaryBytes, collect, transfersIn } from "../wire/_payload.ts";
import { SlotList } from "./_slots.ts";
import { clearLongTimeout, setLongTimeout } from "../util/_timers.ts";
import {
  type CallMethod,
  checkArgumentLists,
  checkCallOptions,
  checkIterable,
} from "./_validate.ts";

/** Set by a worker while it evaluates a task module (see workers/runtime.ts). */
const IMPORTING_TASK_MODULE = Symbol.for("seed-pool.importing-task-module");

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
  readonly #jobs = new SlotList<Job>();
  readonly #jobCleanups = new Map<Job, () => void>();
  readonly #functions = new FunctionTable();
  /** What {@link #prepare} resolved for the call being made; read at once by the caller. */
  readonly #prepared: { definition: FunctionDefinition; lane: Lane } = {
    definition: undefined as unknown as FunctionDefinition,
    lane: undefined as unknown as Lane,
  };
  readonly #estimates = new RunTimeEstimates();
  readonly #recorder: StatsRecorder;
  readonly #listening: Record<PoolEventType, number> = {
    workerspawn: 0,
    workerexit: 0,
    taskqueued: 0,
    taskstart: 0,
    taskend: 0,
  };
  /** What runs the tasks: the local dispatcher (see executor.ts for the seam). */
  readonly #dispatcher: Executor;
  readonly #createdAt = wallClock();
  #state: PoolState = "running";
  #drained: (() => void) | null = null;
  readonly #host: JobHost = {
    settled: (job) => this.#settled(job),
    cancel: (tasks, reason) => this.#dispatcher.cancel(tasks, reason),
    queueRoom: () => this.#dispatcher.hasQueueRoom(1),
    onQueueRoom: (wake) => this.#dispatcher.onQueueRoom(wake),
  };

  /**
   * Creates a pool. Workers start on demand, up to `size`.
   *
   * @param sizeOrOptions The number of workers, or the pool's options.
   * @throws {RangeError} for a size or limit out of range (the message names it).
   * @throws {TypeError} for an option of the wrong type, or an unknown option.
   * @throws {PermissionError} for permissions this process cannot grant, or (worker
   * isolation, the library in local files) when this process may not read the worker script.
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
    const checked = checkPoolOptions(sizeOrOptions);
    const { options, isolation, maxTasksPerWorker, maxQueue, idleTimeout, memoryLimitMb } = checked;
    this.#size = checked.size;
    this.#name = checked.name;
    this.#isolation = isolation;
    const initializer = options.initializer === undefined
      ? null
      : this.#functions.resolve(options.initializer, "initializer");
    const initArgs = checkInitArgs(options.initArgs);
    this.#recorder = new StatsRecorder(this.#createdAt);
    this.#dispatcher = new Dispatcher({
      size: this.#size,
      isolation,
      transport: options.transport ??
        (isolation === "worker" ? webWorkerTransports() : processTransport),
      initializer,
      initArgs,
      maxTasksPerWorker,
      maxQueue,
      idleTimeout,
      memoryLimitMb,
      estimates: this.#estimates,
      recorder: this.#recorder,
      events: {
        listening: this.#listening,
        emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      },
    });
    this.#defaultLane = this.#laneFor(options.permissions, "permissions");
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
    return new AsyncResult(this.#applyJob(fn, args, options, options, "applyAsync"));
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
      this.#mapJob<R>(fn, iterable, options, options, "map", "mapAsync"),
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
      this.#mapJob<R>(fn, iterable, options, options, "starmap", "starmapAsync"),
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
    await this.#dispatcher.exited();
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
      const error = new PoolClosedError("The pool was terminated before the task finished");
      this.#dispatcher.stop(error);
      for (const job of this.#jobs.toArray()) job.fail(null, error);
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
    const workerStats = this.#dispatcher.workerStats(now);
    const rates = this.#recorder.rates(now, workerStats.busy, this.#size);
    const workers = workerStats.list(rates.perWorker);
    return {
      name: this.#name,
      size: this.#size,
      isolation: this.#isolation,
      state: this.#state,
      workers,
      queued: this.#dispatcher.queued,
      running: this.#dispatcher.running,
      completed: this.#recorder.completed,
      failed: this.#recorder.failed,
      cancelled: this.#recorder.cancelled,
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

  /**
   * Checks a call and resolves what its tasks need, the same way for every method: the
   * pool runs, the input is an argument list (`"args"`) or an iterable, the options are
   * known, the function can travel; then the lane of its permissions. Returns the input
   * (`undefined` args become `[]`, a string an iterator); the function's definition and
   * the lane are left in {@link #prepared}, read at once: no object per call.
   */
  #prepare(
    method: CallMethod,
    fn: unknown,
    input: unknown,
    kind: "args" | "iterable",
    options: CallOptions | undefined,
  ): unknown {
    this.#assertRunning(method);
    if (kind === "iterable") input = checkIterable(input, method);
    else if (input === undefined) input = [];
    else if (!Array.isArray(input)) {
      throw new TypeError(
        `Cannot ${method} as 'args' must be an array of arguments: current value is ` +
          `${typeof input}`,
      );
    }
    checkCallOptions(options, method);
    const prepared = this.#prepared;
    prepared.definition = this.#functions.resolve(fn, "fn");
    prepared.lane = options?.permissions === undefined
      ? this.#defaultLane
      : this.#laneFor(options.permissions, "options.permissions");
    return input;
  }

  #applyJob<R>(
    fn: unknown,
    args: unknown,
    options: CallOptions | undefined,
    callbacks: ResultCallbacks<R> | undefined,
    method: CallMethod,
  ): ApplyJob<R> {
    const argList = this.#prepare(method, fn, args, "args", options) as readonly unknown[];
    const { definition, lane } = this.#prepared;
    const job = new ApplyJob<R>(this.#host, callbacks);
    const task = this.#dispatcher.newTask({
      job,
      index: 0,
      definition,
      mode: "apply",
      args: argList,
      items: 1,
      transfer: options?.transfer,
      lane,
    });
    this.#dispatcher.assertQueueRoom(1, method);
    job.task = task;
    this.#jobs.add(job);
    this.#dispatcher.enqueue(task);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    return job;
  }

  #mapJob<R>(
    fn: unknown,
    iterable: unknown,
    options: MapOptions | undefined,
    callbacks: ResultCallbacks<R[]> | undefined,
    mode: CallMode,
    method: CallMethod,
  ): MapJob<R> {
    iterable = this.#prepare(method, fn, iterable, "iterable", options);
    const { definition, lane } = this.#prepared;
    const job = new MapJob<R>(this.#host, callbacks);
    this.#jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    const submit = (items: readonly unknown[]) => {
      if (job.settled) return;
      if (mode === "starmap") checkArgumentLists(items, method);
      const chunksize = options?.chunksize ??
        this.#estimates.chunksize(
          definition.fnId,
          items.length,
          this.#size,
          // Moved buffers are not copied: they need no smaller chunks.
          items.length > 0 && !options?.transfer ? binaryBytes(items) / items.length : 0,
        );
      const chunks = Math.ceil(items.length / chunksize);
      this.#dispatcher.assertQueueRoom(chunks, method);
      job.expect(items.length);
      for (let start = 0; start < items.length; start += chunksize) {
        const chunk = items.slice(start, start + chunksize);
        const transfer = options?.transfer ? transfersIn(chunk, options.transfer) : undefined;
        const task = this.#dispatcher.newTask({
          job,
          index: start,
          definition,
          mode,
          args: chunk,
          items: chunk.length,
          transfer,
          lane,
        });
        job.add(task);
        this.#dispatcher.enqueue(task);
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
    method: CallMethod,
  ): StreamJob<R> {
    iterable = this.#prepare(method, fn, iterable, "iterable", options);
    const { definition, lane } = this.#prepared;
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
        this.#dispatcher.assertQueueRoom(1, method);
        const transfer = options?.transfer ? transfersIn(items, options.transfer) : undefined;
        const task = this.#dispatcher.newTask({
          job,
          index,
          definition,
          mode: "map",
          args: items,
          items: items.length,
          transfer,
          lane,
        });
        this.#dispatcher.enqueue(task);
        return task;
      },
      // Automatic chunks keep to MAX_BATCH_BYTES of copied binary data, as map's do;
      // moved buffers are not copied.
      options?.chunksize === undefined && !options?.transfer ? MAX_BATCH_BYTES : Infinity,
    );
    this.#jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#arm(job, options);
    job.start();
    return job;
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
    const timer = timeout === undefined ? undefined : setLongTimeout(() => {
      job.fail(
        null,
        new TimeoutError(`The call did not finish within its timeout of ${timeout} ms`),
      );
    }, timeout);
    this.#jobCleanups.set(job, () => {
      signal?.removeEventListener("abort", onAbort);
      clearLongTimeout(timer);
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
    this.#dispatcher.retireAll();
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }

  // ---- lanes -------------------------------------------------------------------------

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
    return this.#dispatcher.lane(key, canonical);
  }

  // ---- helpers -------------------------------------------------------------------------

  #assertRunning(method: string): void {
    if (this.#state !== "running") {
      throw new PoolClosedError(
        `Cannot ${method} as the pool is ${this.#state === "closing" ? "closed" : "terminated"}`,
      );
    }
  }
}
