/**
 * A call's deadline: its `signal` and `timeout` wired to its job, and undone when the job
 * settles.
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";
import type { CallOptions } from "./options.ts";
import type { Job } from "./scheduler.ts";
import { clearLongTimeout, setLongTimeout } from "../util/_timers.ts";

/** The armed signals and timers of the calls still open, one undo per job. */
export class CallDeadlines {
  readonly #cleanups = new Map<Job, () => void>();

  /** Wires `signal` and `timeout` to the job; undone by {@link disarm}. */
  arm(job: Job, options: CallOptions): void {
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
    this.#cleanups.set(job, () => {
      signal?.removeEventListener("abort", onAbort);
      clearLongTimeout(timer);
    });
  }

  /** Undoes what {@link arm} wired for `job`, if anything. */
  disarm(job: Job): void {
    const cleanup = this.#cleanups.get(job);
    if (cleanup) {
      this.#cleanups.delete(job);
      cleanup();
    }
  }
}
