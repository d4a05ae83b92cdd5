/**
 * The pool's life cycle: running, then closing (`close()`: no more calls, what is queued
 * still runs) or terminated (`terminate()`: everything stops now); once closing and no job is
 * left, the executor lets its workers go, and `join()` waits for that. The state itself sits
 * in `Calls`, which reads it on every call.
 *
 * @module
 */

import type { Calls } from "./calls.ts";
import { PoolClosedError } from "./errors.ts";
import type { Executor } from "./executor.ts";
import type { Job } from "./scheduler.ts";

/** Closes, terminates and joins a pool; see the module docs. */
export class PoolLifecycle {
  readonly #calls: Calls;
  readonly #executor: Executor;
  /** Wakes the `join()` calls waiting for the last job. */
  #drained: (() => void) | null = null;

  constructor(calls: Calls, executor: Executor) {
    this.#calls = calls;
    this.#executor = executor;
  }

  /** Takes no more calls; what is queued still runs, then the workers go. */
  close(): void {
    if (this.#calls.state !== "running") return;
    this.#calls.state = "closing";
    this.#maybeDrained();
  }

  /** Waits until every job settled and every worker exited; rejects while running. */
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
    await this.#executor.exited();
  }

  /** Stops everything now (once): unfinished calls reject with `PoolClosedError`. */
  terminate(): void {
    if (this.#calls.state === "terminated") return;
    this.#calls.state = "terminated";
    const error = new PoolClosedError("The pool was terminated before the task finished");
    this.#executor.stop(error);
    for (const job of this.#calls.jobs.toArray()) job.fail(null, error);
    this.#maybeDrained();
  }

  /** A job is over (see `JobHost.settled`). */
  settled(job: Job): void {
    if (this.#calls.settled(job)) this.#maybeDrained();
  }

  /** Closing and nothing left: let the workers go and wake `join()`. */
  #maybeDrained(): void {
    if (this.#calls.state === "running" || this.#calls.jobs.size > 0) return;
    this.#executor.retireAll();
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }
}
