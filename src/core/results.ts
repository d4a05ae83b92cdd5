/**
 * Result routing, the CPython way: a worker knows only task ids; the pool hands each
 * outcome to the job that owns the task. A job is one call: `apply` (one task), `map`
 * (chunks into one ordered array, first failure wins) or `imap` (a stream pulled lazily
 * through a bounded window, in input or completion order).
 *
 * @module
 */

import { Fifo } from "../util/_fifo.ts";
import { valueBytes } from "../wire/_payload.ts";
import { TimeoutError } from "./errors.ts";
import { clearLongTimeout, setLongTimeout } from "../util/_timers.ts";
import type { Job, PendingTask } from "./scheduler.ts";

/** What a job needs from the pool. */
export interface JobHost {
  /** The job is over: every callback ran; stop its timers and listeners. */
  settled(job: Job): void;
  /**
   * Stop and forget the job's unfinished tasks (queued ones are dropped, running stopped);
   * `reason` is why, as their `taskend` events say.
   */
  cancel(tasks: Iterable<PendingTask>, reason: unknown): void;
  /** Whether one more task fits under the pool's `maxQueue` now. */
  queueRoom(): boolean;
  /** Calls `wake` once, when one more task fits under `maxQueue` again. */
  onQueueRoom(wake: () => void): void;
}

/**
 * Where a call stands: what `AsyncResult.ready()` and `successful()` read.
 *
 * @example
 * ```ts
 * import { AsyncResult, type ResultState } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * // An AsyncResult reads its source's state each time it is asked.
 * const source = { state: "pending" as ResultState, promise: Promise.resolve(1) };
 * const result = new AsyncResult(source);
 * assert.equal(result.ready(), false);
 * source.state = "rejected";
 * assert.equal(result.ready(), true);
 * assert.equal(result.successful(), false);
 * ```
 */
export type ResultState = "pending" | "fulfilled" | "rejected";

/**
 * What an {@link AsyncResult} reads: where the call stands, and its outcome as a promise.
 * A pool's call makes that promise only when it is first asked for, so a result read
 * through callbacks, or never, costs no promise, and a failure nobody asks about is not an
 * unhandled rejection (as in Python, where the error waits in the AsyncResult until get()).
 *
 * @example An AsyncResult over an outcome of your own (in tests, say)
 * ```ts
 * import { AsyncResult, type ResultSource } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const done: ResultSource<number> = { state: "fulfilled", promise: Promise.resolve(42) };
 * const result = new AsyncResult(done);
 * assert.equal(result.ready(), true);
 * assert.equal(result.successful(), true);
 * assert.equal(await result.get(), 42);
 * ```
 */
export interface ResultSource<R> {
  /** Where the call stands now. */
  readonly state: ResultState;
  /** The call's outcome; asking for it is what makes it. */
  readonly promise: Promise<R>;
}

/** Callbacks of the `*Async` forms. */
export interface ResultCallbacks<R> {
  /** Called with the result when the call succeeds. */
  callback?: ((result: R) => void) | undefined;
  /** Called with the error when the call fails. */
  errorCallback?: ((error: unknown) => void) | undefined;
}

/**
 * The result of an `applyAsync`/`mapAsync`/`starmapAsync` call, as Python's
 * `AsyncResult`: poll it with `ready()`, wait with `wait()`, take the value with `get()`,
 * or simply `await` it.
 *
 * @example
 * ```ts
 * import { Pool } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(2);
 * const result = pool.applyAsync((a: number, b: number) => a + b, [2, 3]);
 * await result.wait();
 * assert.equal(result.ready(), true);
 * assert.equal(result.successful(), true);
 * assert.equal(await result.get(), 5);
 * assert.equal(await result, 5);
 * ```
 */
export class AsyncResult<R> implements PromiseLike<R> {
  readonly #source: ResultSource<R>;

  /**
   * Wraps a promise, or a call's {@link ResultSource}; the pool makes these, users get them
   * from the `*Async` calls.
   */
  constructor(source: Promise<R> | ResultSource<R>) {
    if (source instanceof Promise) {
      const tracked: { state: ResultState; promise: Promise<R> } = {
        state: "pending",
        promise: source,
      };
      // Attached at once: a failed call that nobody awaits is not an unhandled rejection,
      // as in Python, where the error waits in the AsyncResult until get().
      source.then(
        () => tracked.state = "fulfilled",
        () => tracked.state = "rejected",
      );
      this.#source = tracked;
    } else {
      this.#source = source;
    }
  }

  get #promise(): Promise<R> {
    return this.#source.promise;
  }

  get #state(): ResultState {
    return this.#source.state;
  }

  /** Whether the call has finished, well or not. */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /**
   * Whether the call succeeded.
   *
   * @throws {Error} when it has not finished yet (as Python's `successful()`).
   */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new Error("Cannot tell whether the call succeeded as it has not finished yet");
    }
    return this.#state === "fulfilled";
  }

  /**
   * The result, once ready.
   *
   * @param timeoutMs Give up after this long with a `TimeoutError`; the task keeps running.
   * Any length (`Infinity`: never); a negative or NaN one is a RangeError.
   */
  get(timeoutMs?: number): Promise<R> {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, "get");
    if (timeoutMs === undefined || timeoutMs === Infinity || this.#state !== "pending") {
      return this.#promise;
    }
    return new Promise<R>((resolve, reject) => {
      const timer = setLongTimeout(
        () => reject(new TimeoutError(`The result was not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#promise.then(resolve, reject).finally(() => clearLongTimeout(timer));
    });
  }

  /**
   * Waits until the call is finished or `timeoutMs` passed; never rejects.
   *
   * @param timeoutMs How long to wait at most; forever when left out or `Infinity`.
   */
  wait(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, "wait");
    if (this.#state !== "pending") return Promise.resolve();
    const done = this.#promise.then(() => {}, () => {});
    if (timeoutMs === undefined || timeoutMs === Infinity) return done;
    return new Promise<void>((resolve) => {
      const timer = setLongTimeout(resolve, timeoutMs);
      done.then(() => {
        clearLongTimeout(timer);
        resolve();
      });
    });
  }

  /** Makes the result awaitable. */
  then<A = R, B = never>(
    onfulfilled?: ((value: R) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onfulfilled, onrejected);
  }

  /** As `Promise.prototype.catch`. */
  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<R | B> {
    return this.#promise.catch(onrejected);
  }

  /** As `Promise.prototype.finally`. */
  finally(onfinally?: (() => void) | null): Promise<R> {
    return this.#promise.finally(onfinally);
  }
}

function checkTimeout(timeoutMs: number, method: string): void {
  if (typeof timeoutMs !== "number") {
    throw new TypeError(
      `Cannot ${method} the result as 'timeoutMs' must be a number: current value is ` +
        (timeoutMs === null ? "null" : typeof timeoutMs),
    );
  }
  if (!(timeoutMs >= 0)) {
    throw new RangeError(
      `Cannot ${method} the result as 'timeoutMs' must be a non-negative number: current ` +
        `value is ${timeoutMs}`,
    );
  }
}

/** Settles once, runs the call's callbacks, then tells the host. */
abstract class SettlingJob<T> implements Job, ResultSource<T> {
  slot = -1;
  state: ResultState = "pending";
  #promise: Promise<T> | null = null;
  #resolve: ((value: T) => void) | null = null;
  #reject: ((error: unknown) => void) | null = null;
  #outcome: unknown = undefined;

  constructor(
    protected readonly host: JobHost,
    readonly callbacks: ResultCallbacks<T> | undefined,
  ) {}

  /** Whether the call has finished, well or not. */
  get settled(): boolean {
    return this.state !== "pending";
  }

  /** The outcome as a promise, made when first asked for (see {@link ResultSource}). */
  get promise(): Promise<T> {
    if (this.#promise === null) {
      if (this.state === "fulfilled") this.#promise = Promise.resolve(this.#outcome as T);
      else if (this.state === "rejected") this.#promise = Promise.reject(this.#outcome);
      else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  abstract complete(task: PendingTask, value: unknown): void;
  abstract tasks(): Iterable<PendingTask>;

  fail(_task: PendingTask | null, error: unknown): void {
    if (this.settled) return;
    this.state = "rejected";
    this.#outcome = error;
    this.host.cancel(this.tasks(), error);
    this.#reject?.(error);
    runCallback(this.callbacks?.errorCallback, error);
    this.host.settled(this);
  }

  protected succeed(value: T): void {
    if (this.settled) return;
    this.state = "fulfilled";
    this.#outcome = value;
    this.#resolve?.(value);
    runCallback(this.callbacks?.callback, value);
    this.host.settled(this);
  }
}

function runCallback<V>(callback: ((value: V) => void) | undefined, value: V): void {
  if (!callback) return;
  try {
    callback(value);
  } catch (error) {
    // A callback's error is the caller's bug: report it as uncaught, never lose it.
    reportError(error);
  }
}

/** One call of one function. */
export class ApplyJob<R> extends SettlingJob<R> {
  task: PendingTask | null = null;

  complete(_task: PendingTask, value: unknown): void {
    this.task = null;
    this.succeed(value as R);
  }

  override fail(task: PendingTask | null, error: unknown): void {
    if (task === this.task) this.task = null;
    super.fail(task, error);
  }

  *tasks(): Iterable<PendingTask> {
    if (this.task) yield this.task;
  }
}

/** A whole map: chunks fill one array in input order; the first failure rejects it. */
export class MapJob<R> extends SettlingJob<R[]> {
  readonly #live = new Set<PendingTask>();
  #results: R[] = [];

  /** Sizes the result for `length` items. */
  expect(length: number): void {
    this.#results = new Array(length);
    if (length === 0) this.succeed(this.#results);
  }

  /** Registers a submitted chunk. */
  add(task: PendingTask): void {
    this.#live.add(task);
  }

  complete(task: PendingTask, value: unknown): void {
    if (!this.#live.delete(task)) return;
    const values = value as R[];
    const out = this.#results;
    for (let i = 0, at = task.index; i < values.length; i++, at++) out[at] = values[i]!;
    if (this.#live.size === 0) this.succeed(out);
  }

  override fail(task: PendingTask | null, error: unknown): void {
    if (task) this.#live.delete(task);
    super.fail(task, error);
  }

  tasks(): Iterable<PendingTask> {
    return [...this.#live];
  }
}

/** Why the tasks of an `imap` whose loop stopped early end: nobody reads their results. */
const CONSUMER_STOPPED = new Error("The imap's consumer stopped reading");
CONSUMER_STOPPED.name = "ConsumerStopped";

/** How a stream job submits one chunk; returns the task, or throws (closed, queue full). */
export type SubmitChunk = (items: unknown[], index: number) => PendingTask;

/**
 * An `imap`/`imapUnordered` call: pulls input lazily, never holding more than `window`
 * items pulled and not yet handed to the consumer, and stops pulling when the consumer
 * stops.
 */
export class StreamJob<R> implements Job, AsyncIterableIterator<R> {
  slot = -1;
  readonly #live = new Set<PendingTask>();
  /** Ordered: finished chunks by sequence number. Unordered: not used. */
  readonly #byIndex = new Map<number, unknown[]>();
  readonly #ready = new Fifo<R>();
  #nextIndex = 0; // ordered: the next item index to deliver
  #pulledItems = 0;
  #deliveredItems = 0;
  #inputDone = false;
  #inputError: { error: unknown; at: number } | null = null;
  #taskError: unknown = undefined;
  #hasTaskError = false;
  #taskErrorAt = 0;
  #stopped = false;
  #pulling = false;
  #waiter: { resolve: (r: IteratorResult<R>) => void; reject: (e: unknown) => void } | null = null;
  readonly #sync: Iterator<unknown> | null;
  readonly #async: AsyncIterator<unknown> | null;
  #settledWithHost = false;

  constructor(
    private readonly host: JobHost,
    input: Iterable<unknown> | AsyncIterable<unknown>,
    private readonly ordered: boolean,
    private readonly chunksize: () => number,
    private readonly window: number,
    private readonly submit: SubmitChunk,
    /** A chunk closes once its items hold this many bytes of binary data. */
    private readonly maxChunkBytes = Infinity,
  ) {
    if (Symbol.asyncIterator in input) {
      this.#async = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      this.#sync = null;
    } else {
      this.#sync = (input as Iterable<unknown>)[Symbol.iterator]();
      this.#async = null;
    }
  }

  /** Starts pulling input. */
  start(): void {
    this.#pump();
  }

  *tasks(): Iterable<PendingTask> {
    yield* [...this.#live];
  }

  complete(task: PendingTask, value: unknown): void {
    if (!this.#live.delete(task) || this.#stopped) return;
    const values = value as R[];
    if (this.ordered) {
      this.#byIndex.set(task.index, values);
      let next = this.#byIndex.get(this.#nextIndex);
      while (next) {
        this.#byIndex.delete(this.#nextIndex);
        this.#nextIndex += next.length;
        for (const v of next) this.#ready.push(v as R);
        next = this.#byIndex.get(this.#nextIndex);
      }
    } else {
      for (const v of values) this.#ready.push(v);
    }
    this.#maybeFinish();
    this.#deliver();
  }

  fail(task: PendingTask | null, error: unknown): void {
    if (task && !this.#live.delete(task)) return;
    if (this.#stopped) return;
    const at = task === null ? -Infinity : task.index;
    // The failure the consumer sees is the first in its order: in an ordered stream, an
    // earlier item's failure replaces a later one's that came first; a whole-call failure
    // replaces any. The others only end the tasks they doomed, and let the job finish.
    if (this.#hasTaskError && (!this.ordered || at >= this.#taskErrorAt) && task !== null) {
      this.#maybeFinish();
      this.#deliver();
      return;
    }
    this.#hasTaskError = true;
    this.#taskError = error;
    // A whole-call failure (terminate, timeout, abort) is thrown by the very next `next()`,
    // and results that arrived but were not read yet are dropped: whether one had arrived is
    // a matter of timing, and the outcome must not be. A task's failure, in an ordered
    // stream, is thrown after the results before it.
    this.#taskErrorAt = at;
    if (task === null) {
      this.#ready.clear();
      this.#byIndex.clear();
    }
    this.#stopPulling();
    const doomed = [...this.#live].filter((t) => !this.ordered || t.index > this.#taskErrorAt);
    for (const t of doomed) this.#live.delete(t);
    this.host.cancel(doomed, error);
    this.#maybeFinish();
    this.#deliver();
  }

  /** The pool's part is over once nothing is left to pull or run; results may wait. */
  #maybeFinish(): void {
    if (this.#inputDone && this.#live.size === 0) this.#finish();
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#waiter) {
      return Promise.reject(new Error("Cannot call next() again before the last one settled"));
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#deliver();
    });
  }

  /** The consumer stopped: stop pulling, drop what is queued, stop what runs. */
  return(): Promise<IteratorResult<R>> {
    if (!this.#stopped) {
      this.#stopPulling();
      this.#stopped = true;
      this.host.cancel(this.tasks(), CONSUMER_STOPPED);
      this.#live.clear();
      this.#ready.clear();
      this.#finish();
    }
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<R> {
    return this;
  }

  #deliver(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    if (this.#ready.length > 0) {
      this.#waiter = null;
      this.#deliveredItems++;
      waiter.resolve({ done: false, value: this.#ready.shift() as R });
      this.#pump();
      return;
    }
    if (this.#stopped) {
      this.#waiter = null;
      waiter.resolve({ done: true, value: undefined });
      return;
    }
    const outstanding = this.#pulledItems - this.#deliveredItems;
    if (this.#hasTaskError && (!this.ordered || this.#errorIsNext())) {
      this.#waiter = null;
      this.#end();
      waiter.reject(this.#taskError);
      return;
    }
    if (this.#inputError && outstanding === 0) {
      this.#waiter = null;
      this.#end();
      waiter.reject(this.#inputError.error);
      return;
    }
    if (this.#inputDone && outstanding === 0) {
      this.#waiter = null;
      this.#end();
      waiter.resolve({ done: true, value: undefined });
    }
  }

  /** Ordered streams throw a task's error only after the results before it. */
  #errorIsNext(): boolean {
    return this.#nextIndex >= this.#taskErrorAt;
  }

  #end(): void {
    this.#stopped = true;
    this.#finish();
  }

  #finish(): void {
    if (this.#settledWithHost) return;
    this.#settledWithHost = true;
    this.host.settled(this);
  }

  #stopPulling(): void {
    if (this.#inputDone) return;
    this.#inputDone = true;
    try {
      const closing = this.#sync ? this.#sync.return?.() : this.#async?.return?.();
      if (closing instanceof Promise) closing.catch(() => {});
    } catch {
      // the input's own cleanup failed; nothing more to pull either way
    }
  }

  readonly #resume = (): void => void this.#pump();

  async #pump(): Promise<void> {
    if (this.#pulling || this.#inputDone || this.#stopped) return;
    this.#pulling = true;
    try {
      while (!this.#inputDone && !this.#stopped && !this.#hasTaskError) {
        // Whole chunks only: a chunk cut to the room a consumer just made would turn a
        // stream of `chunksize` items per task into one task per item.
        const room = this.window - (this.#pulledItems - this.#deliveredItems);
        const size = Math.max(1, Math.min(this.chunksize(), this.window));
        if (room < size) break;
        // Under maxQueue, a stream waits for room rather than failing.
        if (!this.host.queueRoom()) {
          this.host.onQueueRoom(this.#resume);
          break;
        }
        const chunk: unknown[] = [];
        const index = this.#pulledItems;
        let bytes = 0;
        while (chunk.length < size && bytes < this.maxChunkBytes) {
          let step: IteratorResult<unknown>;
          try {
            step = this.#sync ? this.#sync.next() : await this.#async!.next();
          } catch (error) {
            this.#inputError = { error, at: index + chunk.length };
            this.#inputDone = true;
            break;
          }
          if (step.done) {
            this.#inputDone = true;
            break;
          }
          chunk.push(step.value);
          if (this.maxChunkBytes !== Infinity) bytes += valueBytes(step.value);
        }
        if (this.#stopped || this.#hasTaskError) return;
        // An async input's pull may have let other calls take the room seen before it.
        while (chunk.length > 0 && !this.host.queueRoom()) {
          await new Promise<void>((resolve) => this.host.onQueueRoom(resolve));
          if (this.#stopped || this.#hasTaskError) return;
        }
        if (chunk.length > 0) {
          this.#pulledItems += chunk.length;
          let task: PendingTask;
          try {
            task = this.submit(chunk, index);
          } catch (error) {
            this.#pulledItems -= chunk.length;
            this.fail(null, error);
            return;
          }
          this.#live.add(task);
        }
      }
    } finally {
      this.#pulling = false;
    }
    this.#maybeFinish();
    this.#deliver();
  }
}
