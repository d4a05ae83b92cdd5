/**
 * The scheduling policy: how many workers each lane gets (started on demand within the
 * pool's size, shared fairly between lanes with queued work, a slot freed for a starving
 * lane), and how many queued tasks a worker is sent at once (by the scheduler's estimates).
 * The dispatcher owns the workers and the lanes; this decides, and asks it to act.
 *
 * @module
 */

import type { WorkerExitReason } from "./events.ts";
import {
  BATCH_TARGET_MS,
  type Lane,
  MAX_BATCH,
  MAX_BATCH_BYTES,
  MAX_IN_FLIGHT,
  type PendingTask,
  type RunTimeEstimates,
} from "./scheduler.ts";
import { wallClock } from "./stats.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import { mayRead, rememberTaskModule } from "../transport/_task_modules.ts";

/** What the policy reads of the dispatcher, and asks it to do. */
export interface PolicyHost {
  /** The pool's size: live workers of every lane together. */
  readonly size: number;
  /** Every lane, in the order they were made. */
  readonly lanes: readonly Lane[];
  /** Workers started and not yet retired. */
  liveWorkers(): number;
  readonly estimates: RunTimeEstimates;
  readonly maxTasksPerWorker: number;
  /** Starts a worker for a lane; throws when none can start. */
  spawn(lane: Lane): WorkerHandle;
  /** Lets a worker go; its unfinished tasks go back to the queue. */
  retire(worker: WorkerHandle, reason: WorkerExitReason): void;
  /** Fails every queued task of a lane. */
  failQueued(lane: Lane, error: unknown): void;
  /** Sends a batch taken from a lane's queue. */
  sendBatch(worker: WorkerHandle, batch: PendingTask[]): void;
}

/** Decides which lane gets a worker and what each worker is sent. */
export class SchedulingPolicy {
  readonly #host: PolicyHost;
  /** The lane a draining worker's slot is promised to. */
  #slotReservedFor: Lane | null = null;

  constructor(host: PolicyHost) {
    this.#host = host;
  }

  /** Starts workers for a lane's queued tasks, within the pool's size, sharing it fairly. */
  ensureWorkers(lane: Lane): void {
    let idle = 0;
    for (let i = 0; i < lane.workers.length; i++) {
      if (lane.workers[i]!.inflight.length === 0) idle++;
    }
    let wanted = lane.queued - idle;
    while (wanted > 0) {
      // A slot freed for a starving lane is kept for it, while it still has work.
      if (this.#slotReservedFor !== null && this.#slotReservedFor.queued === 0) {
        this.#slotReservedFor = null;
      }
      const reserved = this.#slotReservedFor !== null && this.#slotReservedFor !== lane ? 1 : 0;
      if (this.#host.liveWorkers() + reserved >= this.#host.size && !this.#freeSlotFor(lane)) {
        return;
      }
      if (this.#slotReservedFor === lane) this.#slotReservedFor = null;
      try {
        this.#host.spawn(lane);
      } catch (error) {
        // No worker can start for this lane (a missing permission, a bad entry): its
        // tasks can never run, so they fail now rather than wait forever.
        this.#host.failQueued(lane, error);
        return;
      }
      wanted--;
    }
  }

  /**
   * Makes room for a lane with queued tasks: retires an idle worker of a lane that has
   * nothing queued, or, failing that, one of a lane above its fair share of `size`.
   * Returns whether a slot is free now.
   */
  #freeSlotFor(lane: Lane): boolean {
    for (const other of this.#host.lanes) {
      if (other === lane || other.queued > 0) continue;
      for (const worker of other.workers) {
        if (worker.state === "idle" && worker.inflight.length === 0) {
          this.#host.retire(worker, "rebalanced");
          return true;
        }
      }
    }
    let busyLanes = 0;
    for (const other of this.#host.lanes) {
      if (other.queued > 0 || other.workers.length > 0) busyLanes++;
    }
    const fairShare = Math.max(1, Math.floor(this.#host.size / Math.max(busyLanes, 1)));
    if (lane.workers.length >= fairShare) return false;
    // No idle worker elsewhere (an idle one of a lane with queued work is about to take it): one busy worker of the lane with the most workers beyond its
    // share (or with any, when this lane has none at all) takes no more tasks and retires
    // when idle. One at a time: a slot already on its way is enough. A worker still
    // starting is left alone: it was started for its own lane's queued work, which it
    // runs first (else two lanes would take the slot from each other for ever).
    let donor: Lane | undefined;
    for (const other of this.#host.lanes) {
      if (other === lane) continue;
      for (const worker of other.workers) if (worker.draining) return false;
      const spare = other.workers.length - (lane.workers.length === 0 ? 0 : fairShare);
      if (spare > 0 && (!donor || other.workers.length > donor.workers.length)) donor = other;
    }
    const worker = donor?.workers.find((w) => w.state === "busy");
    if (worker) {
      worker.draining = true;
      this.#slotReservedFor = lane;
    }
    return false;
  }

  /**
   * Sends a worker queued tasks: always one when it holds none, and more only while all it
   * holds could not last longer than {@link BATCH_TARGET_MS} (by each function's peak), so a
   * task sent ahead never waits long behind another while a worker could run it. Tiny tasks
   * then travel many to a message, and the worker is never idle between them.
   */
  fill(worker: WorkerHandle, lane: Lane, workersInLane: number): void {
    let share = Math.ceil(lane.queued / workersInLane);
    // Several messages rather than one big one: the worker sends each batch's results as
    // it ends, so it is never idle while the pool reads results and sends the next.
    while (share > 0 && lane.queue.length > 0) {
      let count = worker.inflight.length;
      let ahead = count === 0 ? 0 : heldMs(worker);
      if (count > 0 && ahead >= BATCH_TARGET_MS) return;
      const room = Math.min(
        MAX_IN_FLIGHT - count,
        this.#host.maxTasksPerWorker - worker.sent,
        share,
        MAX_BATCH,
      );
      if (room <= 0) return;
      // Sized up front: a lone task's batch is then one small array, not a grown one.
      const batch = new Array<PendingTask>(Math.min(room, lane.queue.length));
      let taken = 0;
      let bytes = 0;
      while (taken < room && lane.queue.length > 0) {
        if (count > 0 && ahead >= BATCH_TARGET_MS) break;
        // Big binary arguments go in messages of their own: the worker starts on the first
        // while the next is still being copied.
        if (taken > 0 && bytes + lane.queue.peek()!.bytes > MAX_BATCH_BYTES) break;
        const task = lane.queue.peek()!;
        if (task.state !== "queued") { // cancelled while queued
          lane.queue.shift();
          continue;
        }
        const peak = this.#host.estimates.peakMs(task);
        // Behind others, a task that might run long would make them wait: it stays.
        if (count > 0 && ahead + peak > BATCH_TARGET_MS) break;
        if (!canLoad(worker, task)) {
          // Started without this task module: a fresh worker will have it.
          worker.draining = true;
          break;
        }
        lane.queue.shift();
        task.peakMs = peak;
        ahead += peak;
        count++;
        bytes += task.bytes;
        batch[taken++] = task;
      }
      batch.length = taken;
      if (taken === 0) {
        if (worker.draining && worker.inflight.length === 0) this.#host.retire(worker, "recycled");
        return;
      }
      share -= batch.length;
      this.#host.sendBatch(worker, batch);
      if (worker.state === "exiting" || worker.draining) return;
    }
  }
}

/**
 * How long what a worker holds could still last: the peaks of its tasks, where the one
 * it runs counts at least as long as it has run (a function's peak can be out of date).
 */
function heldMs(worker: WorkerHandle): number {
  const head = worker.inflight.peek()!;
  if (head.startedAt === 0) return worker.heldMs;
  const ran = wallClock() - head.startedAt;
  return ran > head.peakMs ? worker.heldMs - head.peakMs + ran : worker.heldMs;
}

/**
 * Whether a worker can import the task's module: it has the function already, the module
 * is in its start-up graph, or it may read the file itself (see src/transport/_task_modules.ts).
 */
function canLoad(worker: WorkerHandle, task: PendingTask): boolean {
  const definition = task.definition;
  if (definition.kind !== "module" || worker.knows(definition.fnId)) return true;
  if (worker.preloaded.has(definition.url) || mayRead(worker.lane.permissions, definition.url)) {
    return true;
  }
  rememberTaskModule(definition.url);
  return false;
}
