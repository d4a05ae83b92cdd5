/**
 * What a caller holds while a call runs: `AsyncResult`, as Python's, over a
 * {@link ResultSource} (a job of `jobs.ts`, or any promise).
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";
import { clearLongTimeout, setLongTimeout } from "../util/_timers.ts";

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
