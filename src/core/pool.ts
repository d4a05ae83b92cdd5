/**
 * `Pool`, the public face of Python's `multiprocessing.Pool` for Deno: each method goes straight
 * to one of the parts that make_pool.ts puts together; the pool itself counts its listeners.
 *
 * @module
 */

import type {
  ApplyAsyncOptions,
  CallOptions,
  ImapOptions,
  MapAsyncOptions,
  MapOptions,
  PoolOptions,
} from "./options.ts";
import type { PoolEventMap } from "./events.ts";
import { ListenerCounts } from "./listeners.ts";
import { makePool, type PoolParts } from "./make_pool.ts";
import { AsyncResult } from "./results.ts";
import type { PoolState, PoolStats } from "./stats.ts";
import type { Task } from "./task.ts";

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
  readonly #calls: PoolParts["calls"];
  readonly #life: PoolParts["life"];
  readonly #report: PoolParts["report"];
  readonly #listeners = new ListenerCounts();

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
    const parts = makePool(sizeOrOptions, this.#listeners.sink(this));
    this.#calls = parts.calls;
    this.#life = parts.life;
    this.#report = parts.report;
  }

  /** The pool's name, as in metrics and the dashboard. */
  get name(): string {
    return this.#report.name;
  }

  /** The most workers the pool runs at once. */
  get size(): number {
    return this.#report.size;
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
   * `apply_async`. `callback` gets the result, `errorCallback` the error; `join()` waits for both.
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
    return this.#calls.mapPromise<R>(fn, iterable, options, "map");
  }

  /**
   * `map` that returns at once with an `AsyncResult` of the whole list, as Python's `map_async`.
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
    return new AsyncResult(this.#calls.map<R>(fn, iterable, options, options, "map", "mapAsync"));
  }

  /**
   * `map` whose items are argument lists: `fn(...item)` for every item, as Python's `starmap`.
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
    return this.#calls.mapPromise<R>(fn, iterable, options, "starmap");
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
    this.#life.close();
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
  join(): Promise<void> {
    return this.#life.join();
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
    this.#life.terminate();
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
    return this.#report.snapshot();
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
  override addEventListener(...args: Parameters<EventTarget["addEventListener"]>): void {
    super.addEventListener(args[0], args[1], args[2]);
    this.#listeners.added(args[0], args[1], args[2]);
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
  override removeEventListener(...args: Parameters<EventTarget["removeEventListener"]>): void {
    super.removeEventListener(args[0], args[1], args[2]);
    this.#listeners.removed(args[0], args[1]);
  }
}
