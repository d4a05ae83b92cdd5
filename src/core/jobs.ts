/**
 * Result routing, the CPython way: a worker knows only task ids; the pool hands each
 * outcome to the job that owns the task. A job is one call: `apply` (one task), `map`
 * (chunks into one ordered array, first failure wins) or `imap` (a stream pulled lazily
 * through a bounded window: `stream_job.ts`).
 *
 * @module
 */

import type { ResultCallbacks, ResultSource, ResultState } from "./results.ts";
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
