/**
 * The dispatcher: the lanes of queued tasks (one per permission set), the workers and the
 * tasks in flight on them. It starts and retires workers within the pool's size (their
 * life cycle is in worker_lifecycle.ts, the choice of when in policy.ts), sends each
 * worker batches sized by the scheduler's estimates, routes results to their jobs, and
 * stops what is cancelled (task_ends.ts ends the tasks that get no result). The `Pool` owns the calls and the jobs; this owns the workers.
 * It is the local {@link Executor} (see executor.ts).
 *
 * @module
 */

import { type PoolClosedError, QueueFullError, toCallerError } from "./errors.ts";
import type { TaskFailure } from "../wire/thrown.ts";
import { emitTaskEnd, type Isolation, taskQueuedDetail } from "./events.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import {
  type FromWorker,
  type FunctionDefinition,
  isLoneResult,
  type WireResults,
} from "../wire/protocol.ts";
import { Lane, type PendingTask, type RunTimeEstimates, type TaskSpec } from "./scheduler.ts";
import { type StatsRecorder, wallClock, workerStatsList } from "./stats.ts";
import { taskName } from "./task.ts";
import type { TransportFactory } from "../transport/transport.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import { WorkerLifecycle } from "./worker_lifecycle.ts";
import { TaskEnds } from "./task_ends.ts";
import { SchedulingPolicy } from "./policy.ts";
import type { EventSink, Executor, WorkerStatsSnapshot } from "./executor.ts";
import { binaryBytes } from "../wire/_payload.ts";

/** Tasks queued in one synchronous run after which they are sent without waiting for it to end. */
const EAGER_DISPATCH = 64;

/** What a dispatcher is made with. */
export interface DispatcherOptions {
  readonly size: number;
  readonly isolation: Isolation;
  readonly transport: TransportFactory;
  readonly initializer: FunctionDefinition | null;
  readonly initArgs: readonly unknown[];
  readonly maxTasksPerWorker: number;
  readonly maxQueue: number;
  readonly idleTimeout: number | undefined;
  readonly memoryLimitMb: number | undefined;
  readonly estimates: RunTimeEstimates;
  readonly recorder: StatsRecorder;
  readonly events: EventSink;
}

/** The local executor: lanes, this process's workers and the tasks between them. */
export class Dispatcher implements Executor {
  readonly #config: DispatcherOptions;
  readonly #lanes = new Map<string, Lane>();
  /** The lanes again, as an array to walk without an iterator object. */
  readonly #laneList: Lane[] = [];
  /** The workers, started and retired. */
  readonly #life: WorkerLifecycle;
  /** Tasks cancelled, or failed before they were sent. */
  readonly #ends: TaskEnds;
  #stopped = false;
  /** Tasks in the state "queued": in a lane's queue, or taken from it and not sent yet. */
  #queued = 0;
  #nextTaskId = 1;
  #dispatchScheduled = false;
  #sinceDispatch = 0;
  #submitTime = 0;
  /** Streams waiting for room under `maxQueue`. */
  readonly #roomWaiters: (() => void)[] = [];

  readonly #policy: SchedulingPolicy;

  constructor(options: DispatcherOptions) {
    this.#config = options;
    const life = this.#life = new WorkerLifecycle(options, {
      listener: (worker) => ({
        message: (message) => this.#onMessage(worker, message),
        exit: (error) => life.onWorkerDeath(worker, error),
      }),
      requeued: () => {
        this.#queued++;
      },
      scheduleDispatch: () => this.#scheduleDispatch(),
      dispatchIfQueued: () => {
        if (this.#queued > 0) this.#scheduleDispatch();
      },
      failQueued: (lane, error) => this.#ends.failQueued(lane, error),
      failNeverSent: (task, error) => this.#ends.failNeverSent(task, error),
    });
    this.#ends = new TaskEnds(options, {
      unqueued: () => {
        this.#queued--;
      },
      dispatchIfQueued: () => {
        if (this.#queued > 0) this.#scheduleDispatch();
      },
      wakeIfRoom: () => this.#wakeIfRoom(),
      retire: (worker, reason) => life.retire(worker, reason),
    });
    this.#policy = new SchedulingPolicy({
      size: options.size,
      lanes: this.#laneList,
      liveWorkers: () => life.liveWorkers,
      estimates: options.estimates,
      maxTasksPerWorker: options.maxTasksPerWorker,
      spawn: (lane) => life.spawn(lane),
      retire: (worker, reason) => life.retire(worker, reason),
      failQueued: (lane, error) => this.#ends.failQueued(lane, error),
      sendBatch: (worker, batch) => this.#sendBatch(worker, batch),
    });
  }

  get size(): number {
    return this.#config.size;
  }

  readonly local = true;

  /** Tasks accepted and not started: queued, or held by a worker behind the one it runs. */
  get queued(): number {
    let held = 0;
    for (const worker of this.#life.workers) {
      if (worker.inflight.length > 1) held += worker.inflight.length - 1;
    }
    return this.#queued + held;
  }

  /** Tasks running now: the head of each worker's in-flight tasks, so never more than them. */
  get running(): number {
    let running = 0;
    for (const worker of this.#life.workers) if (worker.inflight.length > 0) running++;
    return running;
  }

  /** Resolves when every worker being stopped is gone. */
  exited(): Promise<void> {
    return this.#life.exited();
  }

  /** The lane of a permission set, made on first use. */
  lane(key: string, permissions: CanonicalPermissions | undefined): Lane {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = new Lane(key, permissions);
      this.#lanes.set(key, lane);
      this.#laneList.push(lane);
    }
    return lane;
  }

  /** Every worker as `stats()` shows it, and their busy time (ms) by id. */
  workerStats(now: number): WorkerStatsSnapshot {
    const busy = new Map<number, number>();
    for (const worker of this.#life.workers) busy.set(worker.id, this.#busyMs(worker, now));
    const list = (utilization: Map<number, number>) =>
      workerStatsList(this.#life.workers, this.#config.isolation, busy, utilization);
    return { busy, list };
  }

  /** Lets every worker go (the pool closed and nothing is left to run). */
  retireAll(): void {
    this.#life.stopIdleSweep();
    for (const worker of [...this.#life.workers]) this.#life.retire(worker, "closed", false);
  }

  /**
   * Stops everything now: drops the queue and the tasks in flight (each counted as
   * cancelled, with its `taskend`), and stops every worker.
   */
  stop(reason: PoolClosedError): void {
    this.#stopped = true;
    this.#life.stopIdleSweep();
    for (const lane of this.#laneList) {
      for (const task of lane.queue) {
        if (task.state === "queued") this.#ends.dropQueued(task, reason);
      }
      lane.queue.clear();
    }
    for (const worker of this.#life.workers) {
      for (const task of worker.inflight) this.#ends.dropSent(task, worker, reason);
    }
    for (const worker of [...this.#life.workers]) this.#life.retire(worker, "terminated", false);
  }

  /** A new task of `spec.job`, not queued yet. */
  newTask(spec: TaskSpec): PendingTask {
    return {
      id: this.#nextTaskId++,
      job: spec.job,
      index: spec.index,
      definition: spec.definition,
      mode: spec.mode,
      args: spec.args,
      transfer: spec.transfer,
      items: spec.items,
      lane: spec.lane,
      queuedAt: this.#submitClock(),
      state: "queued",
      worker: null,
      peakMs: 0,
      startedAt: 0,
      bytes: binaryBytes(spec.args),
    };
  }

  /** Queues a task; it is sent at the end of this synchronous run, or sooner. */
  enqueue(task: PendingTask): void {
    task.lane.queue.push(task);
    task.lane.queued++;
    this.#queued++;
    if (this.#config.events.listening.taskqueued) {
      this.#config.events.emit("taskqueued", taskQueuedDetail(task, this.queued));
    }
    // A long loop of submits: send what has gathered now, so workers start during the loop.
    if (++this.#sinceDispatch >= EAGER_DISPATCH) this.#dispatch();
    this.#scheduleDispatch();
  }

  #onMessage(worker: WorkerHandle, message: FromWorker): void {
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
          if (this.#queued > 0) this.#scheduleDispatch();
          this.#wakeIfRoom();
        }
        return;
      case "results":
        this.#onResults(worker, message);
        return;
      case "crash":
        this.#life.onWorkerDeath(worker, toCallerErrorOfCrash(message.thrown), message.idle);
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
    if (task.startedAt === 0) this.#started(task, worker, start);
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
    } else this.#markStarted(worker);
    if (this.#queued > 0) this.#scheduleDispatch();
    this.#wakeIfRoom();
  }

  /** The head of a worker's in-flight tasks is the one it runs now. */
  #markStarted(worker: WorkerHandle): void {
    const head = worker.inflight.peek();
    if (head && head.startedAt === 0) this.#started(head, worker, wallClock());
  }

  #started(task: PendingTask, worker: WorkerHandle, time: number): void {
    task.startedAt = time;
    if (this.#config.events.listening.taskstart) {
      this.#config.events.emit("taskstart", {
        taskId: task.id,
        task: taskName(task.definition),
        workerId: worker.id,
        waitMs: Math.max(0, time - task.queuedAt),
        time,
      });
    }
  }

  #busyMs(worker: WorkerHandle, now: number): number {
    const head = worker.inflight.peek();
    return worker.busyMs + (head && head.startedAt ? Math.max(0, now - head.startedAt) : 0);
  }

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // Deferred to a microtask, so a loop of submits is sent as one batch per worker.
    queueMicrotask(this.#scheduledDispatch);
  }

  /** Made once: a closure per call would be one more allocation per lone `apply`. */
  readonly #scheduledDispatch = (): void => {
    this.#dispatchScheduled = false;
    this.#dispatch();
  };

  /**
   * The time of submits, read once per synchronous run of them (until the next dispatch):
   * a loop of 20,000 submits then costs one clock read, not 20,000.
   */
  #submitClock(): number {
    if (this.#submitTime === 0) this.#submitTime = wallClock();
    return this.#submitTime;
  }

  #dispatch(): void {
    this.#sinceDispatch = 0;
    this.#submitTime = 0;
    if (this.#stopped) return;
    // Index loops here and below: this runs once per lone call, and an iterator object each
    // time is garbage the collector then has to sweep.
    for (let l = 0; l < this.#laneList.length; l++) {
      const lane = this.#laneList[l]!;
      if (lane.queued === 0) continue;
      this.#policy.ensureWorkers(lane);
      const workers = lane.workers;
      let accepting = 0;
      for (let i = 0; i < workers.length; i++) if (workers[i]!.accepting) accepting++;
      for (let i = 0; i < workers.length && lane.queue.length > 0; i++) {
        const worker = workers[i]!;
        if (worker.accepting) this.#policy.fill(worker, lane, accepting);
        // Filling may retire a worker (recycled, or a failed send cancelling its job's
        // tasks elsewhere): the next one has then moved into this index.
        if (workers[i] !== worker) i--;
      }
    }
  }

  /**
   * Sends a batch taken from the lane's queue. A batch that cannot be cloned is sent again
   * one task at a time, so only the task that cannot be sent fails; batch-mates that its
   * failure cancelled (the same call) are not sent, and those left when the worker had to
   * go meanwhile go back to the front of the queue.
   */
  #sendBatch(worker: WorkerHandle, batch: PendingTask[]): void {
    try {
      worker.send(batch);
    } catch (error) {
      if (batch.length === 1) {
        this.#ends.failUnsendable(batch[0]!, error);
        return;
      }
      for (let i = 0; i < batch.length; i++) {
        const task = batch[i]!;
        if (task.state !== "queued") continue;
        if (worker.state === "exiting") {
          for (let j = batch.length - 1; j >= i; j--) {
            if (batch[j]!.state === "queued") batch[j]!.lane.queue.unshift(batch[j]!);
          }
          this.#scheduleDispatch();
          return;
        }
        this.#sendBatch(worker, [task]);
      }
      return;
    }
    const wasIdle = worker.inflight.length === 0;
    for (let i = 0; i < batch.length; i++) {
      const task = batch[i]!;
      task.state = "sent";
      task.worker = worker;
      worker.inflight.push(task);
      worker.heldMs += task.peakMs;
    }
    this.#queued -= batch.length;
    batch[0]!.lane.queued -= batch.length;
    worker.sent += batch.length;
    if (worker.state === "idle") worker.state = "busy";
    if (wasIdle) this.#markStarted(worker);
  }

  /**
   * Drops queued tasks and stops sent ones (a running one takes its worker with it); each
   * is counted as cancelled, and its `taskend` names `reason`.
   */
  cancel(tasks: Iterable<PendingTask>, reason: unknown): void {
    this.#ends.cancel(tasks, reason);
  }

  /**
   * Throws QueueFullError when `tasks` more would make more than `maxQueue` wait: queued,
   * or held by a worker behind another, beyond the workers that could take one at once.
   */
  assertQueueRoom(tasks: number, method: string): void {
    if (this.#config.maxQueue === Infinity) return;
    const free = this.#freeWorkerSlots();
    const waiting = this.queued;
    if (waiting + tasks > this.#config.maxQueue + free) {
      throw new QueueFullError(
        `Cannot ${method} as the queue is full: ${Math.max(0, waiting - free)} tasks wait ` +
          `and 'maxQueue' is ${this.#config.maxQueue}`,
      );
    }
  }

  /** Calls `wake` once, as soon as a task more fits under `maxQueue`. */
  onQueueRoom(wake: () => void): void {
    this.#roomWaiters.push(wake);
    this.#wakeIfRoom();
  }

  /** Tasks left the waiting ones (started, or dropped): wake those waiting for room. */
  #wakeIfRoom(): void {
    if (this.#roomWaiters.length === 0 || !this.hasQueueRoom(1)) return;
    const waiters = this.#roomWaiters.splice(0);
    queueMicrotask(() => {
      for (const wake of waiters) wake();
    });
  }

  /** Whether `tasks` more would fit under `maxQueue` now (see `assertQueueRoom`). */
  hasQueueRoom(tasks: number): boolean {
    if (this.#config.maxQueue === Infinity) return true;
    return this.queued + tasks <= this.#config.maxQueue + this.#freeWorkerSlots();
  }

  /** Workers that could take a task at once: idle ones, and those not started yet. */
  #freeWorkerSlots(): number {
    let free = this.#config.size - this.#life.liveWorkers;
    for (const worker of this.#life.workers) {
      if (worker.state !== "exiting" && !worker.draining && worker.inflight.length === 0) free++;
    }
    return Math.max(0, free);
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
