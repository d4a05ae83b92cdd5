/**
 * `--timeout` per line, counted from the line's task start: not its submission, nor the
 * start of the worker that runs it (a replacement after a crash or a timeout starts anew,
 * and its lines must not pay for that). Each call gets a signal that aborts with a
 * `TimeoutError` once its task has run for `ms`.
 *
 * @module
 */

import { type Pool, TimeoutError } from "../mod.ts";

interface Armed {
  readonly controller: AbortController;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Signals for calls of one task each (an `apply`, or a `map` of one chunk) that abort once
 * the task has run `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { Pool } from "../mod.ts";
 * import { StartTimeouts } from "./start_timeouts.ts";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const timeouts = new StartTimeouts(pool, 50);
 * const slow = pool.apply(() => new Promise(() => {}), [], { signal: timeouts.next() });
 * await assert.rejects(slow, (e) => (e as Error).name === "TimeoutError");
 * assert.equal(await pool.apply((x: number) => x + 1, [1], { signal: timeouts.next() }), 2);
 * ```
 */
export class StartTimeouts {
  readonly #byTask = new Map<number, Armed>();
  #next: AbortController | null = null;

  constructor(pool: Pool, readonly ms: number) {
    // The call's one task is queued synchronously inside the call: that is how its id is
    // learnt (see `next`).
    pool.addEventListener("taskqueued", (e) => {
      if (this.#next === null) return;
      this.#byTask.set(e.detail.taskId, { controller: this.#next });
      this.#next = null;
    });
    pool.addEventListener("taskstart", (e) => {
      const armed = this.#byTask.get(e.detail.taskId);
      if (armed === undefined) return;
      clearTimeout(armed.timer); // started again on a fresh worker: its own time again
      armed.timer = setTimeout(() => {
        armed.controller.abort(
          new TimeoutError(`The line did not finish within --timeout ${ms} ms of its start`),
        );
      }, ms);
    });
    pool.addEventListener("taskend", (e) => {
      const armed = this.#byTask.get(e.detail.taskId);
      if (armed === undefined) return;
      clearTimeout(armed.timer);
      this.#byTask.delete(e.detail.taskId);
    });
  }

  /** The signal of the call made right after this, which must be of exactly one task. */
  next(): AbortSignal {
    this.#next = new AbortController();
    return this.#next.signal;
  }
}
