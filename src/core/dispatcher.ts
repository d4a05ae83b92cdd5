/**
 * The dispatcher: the lanes of queued tasks (one per permission set), the workers and the
 * tasks in flight on them. It starts and retires workers within the pool's size (their
 * life cycle is in worker_lifecycle.ts, the choice of when in policy.ts) and sends each
 * worker batches sized by the scheduler's estimates. What the workers send back (their
 * results, routed to their jobs) is read in result_reader.ts; the room under `maxQueue` is
 * kept in queue_room.ts; task_ends.ts ends the tasks that get no result (cancelled, or never
 * sent). The `Pool` owns the calls and the jobs; this owns the workers. It is the local
 * {@link Executor} (see executor.ts).
 *
 * @module
 */

import type { PoolClosedError } from "./errors.ts";
import { type Isolation, taskQueuedDetail } from "./events.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { FunctionDefinition } from "../wire/protocol.ts";
import {
  type Lane,
  Lanes,
  type PendingTask,
  pendingTask,
  type RunTimeEstimates,
  type TaskSpec,
} from "./scheduler.ts";
import { type StatsRecorder, wallClock, workerStatsList } from "./stats.ts";
import type { TransportFactory } from "../transport/transport.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import { WorkerLifecycle } from "./worker_lifecycle.ts";
import { TaskEnds } from "./task_ends.ts";
import { SchedulingPolicy } from "./policy.ts";
import { freeWorkerSlots, QueueRoom } from "./queue_room.ts";
import { markStarted, ResultReader } from "./result_reader.ts";
import type { EventSink, Executor, WorkerStatsSnapshot } from "./executor.ts";

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
  readonly #lanes = new Lanes();
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
  /** The room under `maxQueue`, and the streams waiting for it. */
  readonly #room: QueueRoom;
  /** What the workers send: results above all. */
  readonly #reader: ResultReader;
  readonly #policy: SchedulingPolicy;

  constructor(options: DispatcherOptions) {
    this.#config = options;
    const dispatchIfQueued = () => {
      if (this.#queued > 0) this.#scheduleDispatch();
    };
    const life = this.#life = new WorkerLifecycle(options, {
      listener: (worker) => ({
        message: (message) => this.#reader.onMessage(worker, message),
        exit: (error) => life.onWorkerDeath(worker, error),
      }),
      requeued: () => {
        this.#queued++;
      },
      scheduleDispatch: () => this.#scheduleDispatch(),
      dispatchIfQueued,
      failQueued: (lane, error) => this.#ends.failQueued(lane, error),
      failNeverSent: (task, error) => this.#ends.failNeverSent(task, error),
    });
    this.#ends = new TaskEnds(options, {
      unqueued: () => {
        this.#queued--;
      },
      dispatchIfQueued,
      wakeIfRoom: () => this.#room.wakeIfRoom(),
      retire: (worker, reason) => life.retire(worker, reason),
    });
    const room = this.#room = new QueueRoom(
      options,
      () => this.queued,
      () => freeWorkerSlots(options.size, life),
    );
    this.#reader = new ResultReader(options, { life, room, dispatchIfQueued });
    this.#policy = new SchedulingPolicy({
      size: options.size,
      lanes: this.#lanes.list,
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
    return this.#lanes.get(key, permissions);
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
    for (const lane of this.#lanes.list) {
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
    return pendingTask(this.#nextTaskId++, spec, this.#submitClock());
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
    for (let l = 0; l < this.#lanes.list.length; l++) {
      const lane = this.#lanes.list[l]!;
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
    if (wasIdle) markStarted(worker, this.#config.events);
  }

  /**
   * Drops queued tasks and stops sent ones (a running one takes its worker with it); each
   * is counted as cancelled, and its `taskend` names `reason`.
   */
  cancel(tasks: Iterable<PendingTask>, reason: unknown): void {
    this.#ends.cancel(tasks, reason);
  }

  /** Throws QueueFullError when `tasks` more would pass `maxQueue` (see queue_room.ts). */
  assertQueueRoom(tasks: number, method: string): void {
    // Checked here too, so that an unbounded queue (the default) costs no call per task.
    if (this.#config.maxQueue !== Infinity) this.#room.assert(tasks, method);
  }

  /** Whether `tasks` more would fit under `maxQueue` now. */
  hasQueueRoom(tasks: number): boolean {
    return this.#config.maxQueue === Infinity || this.#room.has(tasks);
  }

  /** Calls `wake` once, as soon as a task more fits under `maxQueue`. */
  onQueueRoom(wake: () => void): void {
    this.#room.onRoom(wake);
  }
}
