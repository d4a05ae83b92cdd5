/**
 * How tasks end other than by their result: cancelled (dropped from the queue, or stopped
 * on their worker), or failed before they reached a worker (it could not start, or their
 * input cannot be cloned). Each is counted and has its `taskend`; the dispatcher keeps the
 * queue counts, and what this needs of it, it asks through {@link TaskEndsHost}.
 *
 * @module
 */

import { WorkerCrashError } from "./errors.ts";
import { emitTaskEnd, messageOf, type WorkerExitReason } from "./events.ts";
import type { EventSink } from "./executor.ts";
import type { Lane, PendingTask } from "./scheduler.ts";
import { type StatsRecorder, wallClock } from "./stats.ts";
import { taskName } from "./task.ts";
import type { WorkerHandle } from "./worker_handle.ts";

/** What {@link TaskEnds} needs of the dispatcher. */
export interface TaskEndsHost {
  /** A queued task left the queue without being sent: one fewer queued. */
  unqueued(): void;
  /** Schedules a dispatch if any task is queued. */
  dispatchIfQueued(): void;
  /** Tasks left the waiting ones: wake the streams waiting for room. */
  wakeIfRoom(): void;
  /** Takes a worker out of service (its running task was cancelled). */
  retire(worker: WorkerHandle, reason: WorkerExitReason): void;
}

/** Ends tasks that will get no result; see the module docs. */
export class TaskEnds {
  readonly #config: { readonly recorder: StatsRecorder; readonly events: EventSink };
  readonly #host: TaskEndsHost;

  constructor(
    config: { readonly recorder: StatsRecorder; readonly events: EventSink },
    host: TaskEndsHost,
  ) {
    this.#config = config;
    this.#host = host;
  }

  failQueued(lane: Lane, error: unknown): void {
    const failure = new WorkerCrashError(`Cannot start a worker: ${messageOf(error)}`, {
      cause: error,
    });
    for (let task = lane.queue.shift(); task; task = lane.queue.shift()) {
      if (task.state !== "queued") continue;
      this.failNeverSent(task, failure);
    }
  }

  failUnsendable(task: PendingTask, error: unknown): void {
    const what = task.mode === "apply" ? "arguments" : "items";
    this.failNeverSent(
      task,
      new TypeError(
        `Cannot send the ${what} of task '${taskName(task.definition)}' to a worker as they ` +
          `cannot be structured-cloned: ${messageOf(error)}`,
        { cause: error },
      ),
    );
  }

  /** Fails a task that never reached a worker: counted, with its `taskend`, then its job. */
  failNeverSent(task: PendingTask, error: unknown): void {
    task.state = "done";
    task.lane.queued--;
    this.#host.unqueued();
    const now = wallClock();
    this.#config.recorder.record(false, Math.max(0, now - task.queuedAt), 0, task.items);
    emitTaskEnd(this.#config.events, task, -1, false, error, 0, now);
    task.job.fail(task, error);
    // The worker meant for it may be idle now, and so free for another lane's queued work.
    this.#host.dispatchIfQueued();
  }

  /**
   * Drops queued tasks and stops sent ones (a running one takes its worker with it); each
   * is counted as cancelled, and its `taskend` names `reason`.
   */
  cancel(tasks: Iterable<PendingTask>, reason: unknown): void {
    const cancels = new Map<WorkerHandle, number[]>();
    for (const task of tasks) {
      if (task.state === "queued") {
        this.dropQueued(task, reason);
      } else if (task.state === "sent") {
        const worker = task.worker!;
        this.dropSent(task, worker, reason);
        if (worker.inflight.peek() === task) {
          worker.inflight.shift();
          // Deno cannot interrupt a running task: its worker is stopped and replaced.
          this.#host.retire(worker, "cancelled");
        } else {
          worker.inflight.remove(task);
          worker.heldMs -= task.peakMs;
          let ids = cancels.get(worker);
          if (!ids) cancels.set(worker, ids = []);
          ids.push(task.id);
        }
      }
    }
    for (const [worker, ids] of cancels) {
      if (worker.state !== "exiting") worker.transport.send({ type: "cancel", ids });
    }
    this.#host.wakeIfRoom();
  }

  dropQueued(task: PendingTask, reason: unknown): void {
    task.state = "done";
    task.lane.queued--;
    this.#host.unqueued();
    this.#config.recorder.cancelled += task.items;
    if (this.#config.events.listening.taskend) {
      const now = wallClock();
      emitTaskEnd(this.#config.events, task, -1, false, reason, 0, now, true);
    }
  }

  /** Ends a task a worker holds; the one it runs has run until now. */
  dropSent(task: PendingTask, worker: WorkerHandle, reason: unknown): void {
    task.state = "done";
    this.#config.recorder.cancelled += task.items;
    if (this.#config.events.listening.taskend) {
      const now = wallClock();
      const running = worker.inflight.peek() === task && task.startedAt > 0;
      const start = running ? task.startedAt : now;
      emitTaskEnd(
        this.#config.events,
        task,
        worker.id,
        false,
        reason,
        running ? now - start : 0,
        start,
        true,
      );
    }
  }
}
