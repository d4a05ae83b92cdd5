/**
 * The workers' life cycle, for the dispatcher: a worker started in its lane, retired (its
 * tasks back to the queue or not), dead (its running task failed, or spared once when it
 * died between tasks), dead before it was ready (see {@link WorkerLifecycle.onWorkerDeath}),
 * and swept when idle past `idleTimeout`. The dispatcher keeps the queues and the tasks in
 * flight; what this needs of them it asks through {@link LifecycleHost}.
 *
 * @module
 */

import { WorkerCrashError } from "./errors.ts";
import { emitTaskEnd, messageOf, type WorkerExitReason } from "./events.ts";
import type { Lane, PendingTask } from "./scheduler.ts";
import { wallClock } from "./stats.ts";
import { taskName } from "./task.ts";
import type { TransportListener } from "../transport/transport.ts";
import { WorkerHandle } from "./worker_handle.ts";
import type { DispatcherOptions } from "./dispatcher.ts";
import { MAX_TIMER_MS } from "../util/_timers.ts";
import { mayRead, TASK_MODULES } from "../transport/_task_modules.ts";

/** Workers of a lane that may die in a row before they are ready, before its queue fails. */
const MAX_FAILED_STARTS = 3;

/** What the worker life cycle needs of the dispatcher. */
export interface LifecycleHost {
  /** The listener of a new worker's transport (made once per worker). */
  listener(worker: WorkerHandle): TransportListener;
  /** A task went back to its lane's queue: one more queued. */
  requeued(): void;
  scheduleDispatch(): void;
  /** Schedules a dispatch if any task is queued. */
  dispatchIfQueued(): void;
  /** Fails a lane's whole queue: its workers cannot start. */
  failQueued(lane: Lane, error: unknown): void;
  /** Fails a task that never reached a worker. */
  failNeverSent(task: PendingTask, error: unknown): void;
}

/** The dispatcher's workers: started, retired, dead, swept; see the module docs. */
export class WorkerLifecycle {
  /** Every worker not gone yet, those being stopped included. */
  readonly workers = new Set<WorkerHandle>();
  /** Workers in service (not exiting): what counts against the pool's size. */
  liveWorkers = 0;
  readonly #config: DispatcherOptions;
  readonly #host: LifecycleHost;
  readonly #exiting = new Set<Promise<void>>();
  #nextWorkerId = 1;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Tasks put back once after their worker died between tasks (see onWorkerDeath). */
  readonly #sparedOnce = new WeakSet<PendingTask>();

  constructor(config: DispatcherOptions, host: LifecycleHost) {
    this.#config = config;
    this.#host = host;
  }

  /** Resolves when every worker being stopped is gone. */
  async exited(): Promise<void> {
    while (this.#exiting.size > 0) await Promise.all(this.#exiting);
  }

  /** Stops the idle sweep (the pool is closing or stopping). */
  stopIdleSweep(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
  }

  spawn(lane: Lane): WorkerHandle {
    const worker = new WorkerHandle(this.#nextWorkerId++, lane, wallClock());
    for (const url of TASK_MODULES) {
      if (!mayRead(lane.permissions, url)) worker.preloaded.add(url);
    }
    worker.transport = this.#config.transport({
      workerId: worker.id,
      permissions: lane.permissions,
      memoryLimitMb: this.#config.memoryLimitMb,
      modules: [...worker.preloaded],
      listener: this.#host.listener(worker),
    });
    worker.transport.send({
      type: "init",
      workerId: worker.id,
      initializer: this.#config.initializer,
      initArgs: this.#config.initArgs,
    });
    lane.workers.push(worker);
    this.workers.add(worker);
    this.liveWorkers++;
    if (this.#config.events.listening.workerspawn) {
      this.#config.events.emit("workerspawn", {
        workerId: worker.id,
        permissions: lane.key,
        isolation: this.#config.isolation,
        time: wallClock(),
      });
    }
    return worker;
  }

  /** Takes a worker out of service and stops it; tasks it held go back to the queue. */
  retire(worker: WorkerHandle, reason: WorkerExitReason, requeue = true, error?: unknown): void {
    if (worker.state === "exiting") return;
    worker.state = "exiting";
    worker.lane.workers.splice(worker.lane.workers.indexOf(worker), 1);
    this.liveWorkers--;
    if (requeue) {
      const held = [...worker.inflight].reverse();
      for (const task of held) {
        if (task.state !== "sent") continue;
        task.state = "queued";
        task.worker = null;
        task.lane.queue.unshift(task);
        task.lane.queued++;
        this.#host.requeued();
      }
    }
    worker.inflight.clear();
    const exit = worker.transport.terminate().finally(() => {
      this.workers.delete(worker);
      this.#exiting.delete(exit);
    });
    this.#exiting.add(exit);
    if (this.#config.events.listening.workerexit) {
      const detail = error === undefined
        ? { workerId: worker.id, reason, time: wallClock() }
        : { workerId: worker.id, reason, error: messageOf(error), time: wallClock() };
      this.#config.events.emit("workerexit", detail);
    }
    if (requeue) this.#host.scheduleDispatch();
  }

  onWorkerDeath(worker: WorkerHandle, error: unknown, idle = false, running?: number): void {
    if (worker.state === "exiting") return;
    if (worker.state === "starting") {
      this.#onFailedStart(worker, error);
      return;
    }
    // Died between tasks (a timer left behind threw): the head never started, so it goes
    // back to the queue with the rest, once (a second time it fails: no endless loop).
    const head = worker.inflight.peek();
    const spared = idle && head !== undefined && !this.#sparedOnce.has(head);
    if (spared) {
      this.#sparedOnce.add(head);
      head.startedAt = 0;
    }
    // The task it ran, when it says which: one cancelled meanwhile is gone from the list,
    // and the next one (which never started) is not to blame.
    const blamed = running === undefined || head?.id === running;
    if (!blamed && head) head.startedAt = 0;
    const victim = spared || !blamed ? undefined : worker.inflight.shift();
    this.retire(worker, "crashed", true, error);
    if (victim && victim.state === "sent") {
      victim.state = "done";
      worker.tasksFailed++;
      const crash = new WorkerCrashError(
        `Worker ${worker.id} died while running task '${taskName(victim.definition)}': ` +
          messageOf(error),
        { cause: error },
      );
      const now = wallClock();
      const waitMs = Math.max(0, victim.startedAt - victim.queuedAt);
      this.#config.recorder.record(false, waitMs, 0, victim.items);
      emitTaskEnd(
        this.#config.events,
        victim,
        worker.id,
        false,
        crash,
        now - victim.startedAt,
        victim.startedAt,
      );
      victim.job.fail(victim, crash);
    }
  }

  /**
   * A worker died before it was ready, so it held no task: the task it would have run
   * next fails in its place, as it would have on a worker sent tasks at once. Without that
   * a worker that cannot start (a heap limit too small, a broken entry) would be replaced
   * for ever while its lane waits. After {@link MAX_FAILED_STARTS} in a row, the lane's
   * whole queue fails.
   */
  #onFailedStart(worker: WorkerHandle, error: unknown): void {
    const lane = worker.lane;
    this.retire(worker, "crashed", false, error);
    const why = `Worker ${worker.id} died while starting: ${messageOf(error)}`;
    if (++lane.failedStarts >= MAX_FAILED_STARTS) {
      this.#host.failQueued(lane, error);
      return;
    }
    for (let task = lane.queue.peek(); task; task = lane.queue.peek()) {
      lane.queue.shift();
      if (task.state !== "queued") continue;
      this.#host.failNeverSent(task, new WorkerCrashError(why, { cause: error }));
      break;
    }
    this.#host.dispatchIfQueued();
  }

  armIdleSweep(): void {
    if (this.#idleTimer !== undefined || this.#config.idleTimeout === undefined) return;
    const timeout = this.#config.idleTimeout;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const now = wallClock();
      let waiting = false;
      for (const worker of [...this.workers]) {
        if (worker.state !== "idle") continue;
        if (now - worker.idleSince >= timeout) this.retire(worker, "idle");
        else waiting = true;
      }
      if (waiting) this.armIdleSweep();
      // Past the timer range a sweep comes early, finds nobody idle long enough, re-arms.
    }, Math.min(timeout, MAX_TIMER_MS));
  }
}
