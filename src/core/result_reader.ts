/**
 * What a worker sends, read for the dispatcher: its `ready`, its results (a lone one, or the
 * columns of a batch), each settling its task's job with the stats and the `taskend` it
 * records, and its crash. After a worker's results it may be idle, due for recycling, or
 * ready for more. A task starts when it becomes the head of its worker's in-flight tasks
 * ({@link markStarted}); the dispatcher marks that too, when it sends an idle worker a batch.
 *
 * @module
 */

import { toCallerError } from "./errors.ts";
import type { TaskFailure } from "../wire/thrown.ts";
import { emitTaskEnd } from "./events.ts";
import type { EventSink } from "./executor.ts";
import { type FromWorker, isLoneResult, type WireResults } from "../wire/protocol.ts";
import type { PendingTask } from "./scheduler.ts";
import { wallClock } from "./stats.ts";
import { taskName } from "./task.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import type { WorkerLifecycle } from "./worker_lifecycle.ts";
import type { QueueRoom } from "./queue_room.ts";
import type { DispatcherOptions } from "./dispatcher.ts";

/** What the result reader needs of the dispatcher. */
export interface ResultReaderHost {
  /** The workers: retired, swept when idle, dead. */
  readonly life: WorkerLifecycle;
  /** Woken when tasks leave the waiting ones. */
  readonly room: QueueRoom;
  /** Schedules a dispatch if any task is queued. */
  dispatchIfQueued(): void;
}

/** Reads each worker's messages and settles the tasks they finish; see the module docs. */
export class ResultReader {
  readonly #config: DispatcherOptions;
  readonly #life: WorkerLifecycle;
  readonly #room: QueueRoom;
  readonly #host: ResultReaderHost;

  constructor(config: DispatcherOptions, host: ResultReaderHost) {
    this.#config = config;
    this.#life = host.life;
    this.#room = host.room;
    this.#host = host;
  }

  /** Reads one message of `worker` (its transport's listener calls this). */
  onMessage(worker: WorkerHandle, message: FromWorker): void {
    if (isLoneResult(message)) {
      if (worker.state === "exiting") return;
      this.#onOutcome(worker, message[0], message[1], message[2], message[3], null);
      this.#afterResults(worker);
      return;
    }
    switch (message.type) {
      case "ready":
        // Tasks wait in the pool, not on a worker that is still starting: another worker
        // may be free sooner.
        if (worker.state === "starting") {
          worker.state = "idle";
          worker.lane.failedStarts = 0;
          this.#host.dispatchIfQueued();
          this.#room.wakeIfRoom();
        }
        return;
      case "results":
        this.#onResults(worker, message);
        return;
      case "crash":
        this.#life.onWorkerDeath(
          worker,
          toCallerErrorOfCrash(message.thrown),
          message.idle,
          message.running,
        );
        return;
      default:
        message satisfies never;
    }
  }

  #onResults(worker: WorkerHandle, results: WireResults): void {
    if (worker.state === "exiting") return;
    const { ids, starts, runMs, values, failures } = results;
    let nextFailure = 0;
    for (let i = 0; i < ids.length; i++) {
      const failure = failures[nextFailure]?.[0] === i ? failures[nextFailure++]![1] : null;
      this.#onOutcome(worker, ids[i]!, starts[i]!, runMs[i]!, values[i], failure);
    }
    this.#afterResults(worker);
  }

  /** Settles one task that ran on `worker`: `start` is its wall-clock start, `ran` its ms. */
  #onOutcome(
    worker: WorkerHandle,
    id: number,
    start: number,
    ran: number,
    value: unknown,
    failure: TaskFailure | null,
  ): void {
    // A worker answers in the order it was sent tasks, so this is nearly always the head;
    // a task cancelled meanwhile is no longer in the list at all.
    let task = worker.inflight.peek();
    if (task?.id === id) worker.inflight.shift();
    else {
      task = findById(worker.inflight, id);
      if (task === undefined) return;
      worker.inflight.remove(task);
    }
    worker.heldMs -= task.peakMs;
    task.state = "done";
    // Tasks that ran within one batch were never the head here: they started anyway.
    if (task.startedAt === 0) started(task, worker, start, this.#config.events);
    this.#config.estimates.observe(task.definition.fnId, ran, task.items);
    worker.busyMs += ran;
    this.#config.recorder.record(
      failure === null,
      Math.max(0, start - task.queuedAt),
      ran,
      task.items,
    );
    const taskEnds = this.#config.events.listening.taskend > 0;
    if (failure === null) {
      worker.tasksCompleted++;
      if (taskEnds) emitTaskEnd(this.#config.events, task, worker.id, true, undefined, ran, start);
      task.job.complete(task, value);
    } else {
      worker.tasksFailed++;
      const error = toCallerError(failure);
      if (taskEnds) emitTaskEnd(this.#config.events, task, worker.id, false, error, ran, start);
      task.job.fail(task, error);
    }
  }

  /** After a worker's results: it may be idle now, due for recycling, or ready for more. */
  #afterResults(worker: WorkerHandle): void {
    if (worker.state === "exiting") return;
    if (worker.inflight.length === 0) {
      worker.heldMs = 0;
      worker.state = worker.state === "starting" ? "starting" : "idle";
      if (worker.sent >= this.#config.maxTasksPerWorker) {
        this.#life.retire(worker, "recycled");
      } else if (worker.draining) {
        this.#life.retire(worker, "rebalanced");
      } else if (this.#config.idleTimeout !== undefined) {
        worker.idleSince = wallClock();
        this.#life.armIdleSweep();
      }
    } else markStarted(worker, this.#config.events);
    this.#host.dispatchIfQueued();
    this.#room.wakeIfRoom();
  }
}

/** The head of a worker's in-flight tasks is the one it runs now: it starts, if not yet. */
export function markStarted(worker: WorkerHandle, events: EventSink): void {
  const head = worker.inflight.peek();
  if (head && head.startedAt === 0) started(head, worker, wallClock(), events);
}

function started(task: PendingTask, worker: WorkerHandle, time: number, events: EventSink): void {
  task.startedAt = time;
  if (events.listening.taskstart) {
    events.emit("taskstart", {
      taskId: task.id,
      task: taskName(task.definition),
      workerId: worker.id,
      waitMs: Math.max(0, time - task.queuedAt),
      time,
    });
  }
}

function findById(tasks: Iterable<PendingTask>, id: number): PendingTask | undefined {
  for (const task of tasks) if (task.id === id) return task;
  return undefined;
}

function toCallerErrorOfCrash(thrown: Parameters<typeof toCallerError>[0]["thrown"]): unknown {
  const error = toCallerError({ as: "task", thrown });
  return (error as Error).cause ?? error;
}
