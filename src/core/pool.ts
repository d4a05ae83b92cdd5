/**
 * `Pool`: Python's `multiprocessing.Pool` for Deno, its public face: the calls (made into
 * jobs and tasks by calls.ts), the life cycle (`close`/`join`/`terminate`), the stats and
 * the events. The dispatcher (dispatcher.ts) runs the workers.
 *
 * @module
 */

import { Calls } from "./calls.ts";
import { Dispatcher } from "./dispatcher.ts";
import {
  type Executor,
  type ExecutorContext,
  type ExecutorSource,
  MAKE_EXECUTOR,
} from "./executor.ts";
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
import { PoolClosedError } from "./errors.ts";
import type { Isolation, PoolEventMap } from "./events.ts";
import type { JobHost } from "./jobs.ts";
import { ListenerCounts } from "./listeners.ts";
import { AsyncResult } from "./results.ts";
import { type Job, RunTimeEstimates } from "./scheduler.ts";
import { type PoolState, type PoolStats, StatsRecorder, wallClock } from "./stats.ts";
import { FunctionTable, type Task } from "./task.ts";
import { processTransport } from "../transport/process.ts";
import { webWorkerTransports } from "../transport/web_worker.ts";

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
  readonly #name: string;
  readonly #isolation: Isolation;
  /** The calls, the jobs they left open and the pool's state. */
  readonly #calls: Calls;
  readonly #recorder: StatsRecorder;
  readonly #listeners = new ListenerCounts();
  /** What runs the tasks: the local dispatcher (see executor.ts for the seam). */
  readonly #dispatcher: Executor;
  readonly #createdAt = wallClock();
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
    this.#name = checked.name;
    this.#isolation = isolation;
    const functions = new FunctionTable();
    const estimates = new RunTimeEstimates();
    const initializer = options.initializer === undefined
      ? null
      : functions.resolve(options.initializer, "initializer");
    const initArgs = checkInitArgs(options.initArgs);
    this.#recorder = new StatsRecorder(this.#createdAt);
    const context: ExecutorContext = {
      name: this.#name,
      isolation,
      isolationGiven: options.isolation !== undefined,
      initializer,
      initArgs,
      maxTasksPerWorker,
      maxQueue,
      idleTimeout,
      memoryLimitMb,
      estimates,
      recorder: this.#recorder,
      events: {
        listening: this.#listeners.listening,
        emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      },
    };
    const cluster = options.cluster as ExecutorSource | undefined;
    this.#dispatcher = cluster?.[MAKE_EXECUTOR](context) ?? new Dispatcher({
      ...context,
      size: checked.size,
      transport: options.transport ??
        (isolation === "worker" ? webWorkerTransports() : processTransport),
    });
    this.#calls = new Calls(
      isolation,
      this.#dispatcher,
      functions,
      estimates,
      this.#host,
      options.permissions,
    );
  }

  /** The pool's name, as in metrics and the dashboard. */
  get name(): string {
    return this.#name;
  }

  /** The most workers the pool runs at once. */
  get size(): number {
    return this.#dispatcher.size;
  }

  /** `"running"`, `"closing"` (after `close()`) or `"terminated"`. */
  get state(): PoolState {
    return this.#calls.state;
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
      return this.#calls.apply<R>(fn, args, options, undefined, "apply").promise;
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
    return new AsyncResult(this.#calls.apply(fn, args, options, options, "applyAsync"));
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
      return this.#calls.map<R>(fn, iterable, options, undefined, "map", "map").promise;
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
      this.#calls.map<R>(fn, iterable, options, options, "map", "mapAsync"),
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
      return this.#calls.map<R>(fn, iterable, options, undefined, "starmap", "starmap").promise;
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
      this.#calls.map<R>(fn, iterable, options, options, "starmap", "starmapAsync"),
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
    return this.#calls.stream<R>(fn, iterable, options, true, "imap");
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
    return this.#calls.stream<R>(fn, iterable, options, false, "imapUnordered");
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
    if (this.#calls.state !== "running") return;
    this.#calls.state = "closing";
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
    if (this.#calls.state === "running") {
      throw new Error(
        "Cannot join the pool as it is still running: call close() or terminate() first",
      );
    }
    if (this.#calls.jobs.size > 0) {
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
    if (this.#calls.state !== "terminated") {
      this.#calls.state = "terminated";
      const error = new PoolClosedError("The pool was terminated before the task finished");
      this.#dispatcher.stop(error);
      for (const job of this.#calls.jobs.toArray()) job.fail(null, error);
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
    const rates = this.#recorder.rates(now, workerStats.busy, this.#dispatcher.size);
    const workers = workerStats.list(rates.perWorker);
    return {
      name: this.#name,
      size: this.#dispatcher.size,
      isolation: this.#isolation,
      state: this.#calls.state,
      workers,
      ...(workerStats.hosts ? { hosts: workerStats.hosts } : {}),
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
    this.#listeners.added(type, listener, options);
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
    this.#listeners.removed(type, listener);
  }

  #settled(job: Job): void {
    if (this.#calls.settled(job)) this.#maybeDrained();
  }

  /** Closing and nothing left: let the workers go and wake `join()`. */
  #maybeDrained(): void {
    if (this.#calls.state === "running" || this.#calls.jobs.size > 0) return;
    this.#dispatcher.retireAll();
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }
}
