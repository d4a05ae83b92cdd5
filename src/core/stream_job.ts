/**
 * The job of an `imap`: a stream pulled lazily through a bounded window of chunks, yielded
 * in input or completion order.
 *
 * @module
 */

import { Fifo } from "../util/_fifo.ts";
import { valueBytes } from "../wire/_payload.ts";
import type { JobHost } from "./jobs.ts";
import type { Job, PendingTask } from "./scheduler.ts";

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
