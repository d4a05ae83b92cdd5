/**
 * The room under the pool's `maxQueue`, for an executor: how many tasks may wait (queued,
 * or held by a worker behind the one it runs) beyond the workers that could take one at once;
 * a call that would pass it is refused with `QueueFullError`, and a stream that waits for room
 * is woken when tasks leave the waiting ones.
 *
 * @module
 */

import { QueueFullError } from "./errors.ts";
import type { WorkerLifecycle } from "./worker_lifecycle.ts";

/** An executor's room under `maxQueue`; see the module docs. */
export class QueueRoom {
  readonly #config: { readonly maxQueue: number };
  /** The tasks waiting now, as the executor counts them (its `queued`). */
  readonly #waiting: () => number;
  /** Workers that could take a task at once. */
  readonly #freeWorkers: () => number;
  /** Streams waiting for room. */
  readonly #waiters: (() => void)[] = [];

  constructor(
    config: { readonly maxQueue: number },
    waiting: () => number,
    freeWorkers: () => number,
  ) {
    this.#config = config;
    this.#waiting = waiting;
    this.#freeWorkers = freeWorkers;
  }

  /**
   * Throws QueueFullError when `tasks` more would make more than `maxQueue` wait: queued,
   * or held by a worker behind another, beyond the workers that could take one at once.
   */
  assert(tasks: number, method: string): void {
    if (this.#config.maxQueue === Infinity) return;
    const free = this.#freeWorkers();
    const waiting = this.#waiting();
    if (waiting + tasks > this.#config.maxQueue + free) {
      throw new QueueFullError(
        `Cannot ${method} as the queue is full: ${Math.max(0, waiting - free)} tasks wait ` +
          `and 'maxQueue' is ${this.#config.maxQueue}`,
      );
    }
  }

  /** Whether `tasks` more would fit under `maxQueue` now (see {@link QueueRoom.assert}). */
  has(tasks: number): boolean {
    if (this.#config.maxQueue === Infinity) return true;
    return this.#waiting() + tasks <= this.#config.maxQueue + this.#freeWorkers();
  }

  /** Calls `wake` once, as soon as a task more fits under `maxQueue`. */
  onRoom(wake: () => void): void {
    this.#waiters.push(wake);
    this.wakeIfRoom();
  }

  /** Tasks left the waiting ones (started, or dropped): wake those waiting for room. */
  wakeIfRoom(): void {
    if (this.#waiters.length === 0 || !this.has(1)) return;
    const waiters = this.#waiters.splice(0);
    queueMicrotask(() => {
      for (const wake of waiters) wake();
    });
  }
}

/** Workers of a local pool that could take a task at once: idle ones, and those not started. */
export function freeWorkerSlots(size: number, life: WorkerLifecycle): number {
  let free = size - life.liveWorkers;
  for (const worker of life.workers) {
    if (worker.state !== "exiting" && !worker.draining && worker.inflight.length === 0) free++;
  }
  return Math.max(0, free);
}
