/**
 * A pool's executor on a cluster: tasks wait here, in one lane per permission set, until
 * they are published to the tasks stream, where any host with a free worker pulls them.
 * Only a few messages per known worker are published ahead, so a host that joins finds
 * work, a cancelled task rarely left this process, and no task waits at a busy host while
 * another is idle (hosts pull; nothing is pushed to them). Tiny tasks travel many to a
 * message, as the local pool batches them; outcomes come back through the results stream,
 * each task settled once, whatever a redelivery repeats.
 *
 * @module
 */

import type { Executor, ExecutorContext, WorkerStatsSnapshot } from "../core/executor.ts";
import type { PoolClosedError } from "../core/errors.ts";
import { QueueRoom } from "../core/queue_room.ts";
import { emitTaskEnd, taskQueuedDetail } from "../core/events.ts";
import {
  type Lane,
  Lanes,
  type PendingTask,
  pendingTask,
  type TaskSpec,
} from "../core/scheduler.ts";
import { wallClock } from "../core/stats.ts";
import { TaskEnds } from "../core/task_ends.ts";
import { taskName } from "../core/task.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { ClusterConnection } from "./connection.ts";
import { remoteErrorToCaller } from "./remote_error.ts";
import { type HostRecord, HostRoster, type HostRow } from "./roster.ts";
import { ResultReader } from "./result_reader.ts";
import { type Published, takeBatch, TaskSender } from "./task_messages.ts";
import { type Packed, type ResultBatch, type ResultEntry, unpackNumbers } from "./wire.ts";

/** Messages published ahead per known worker (the stream holds them, no host does). */
const AHEAD_PER_WORKER = 4;
/** A message no host takes for this long while one has a free worker is published again. */
const STALE_MS = 3_000;

/** Where a published task is. */
interface InFlight {
  readonly task: PendingTask;
  readonly message: Published;
  row: HostRow | null;
}

/** What the executor needs of its cluster connection. */
export interface ClusterLink {
  readonly connection: ClusterConnection;
  readonly maxDeliver: number;
  /** Forgets an executor that stopped. */
  detach(executor: ClusterExecutor): void;
}

/** See the module docs. */
export class ClusterExecutor implements Executor {
  readonly local = false;
  readonly #context: ExecutorContext;
  readonly #link: ClusterLink;
  readonly #client: string;
  readonly #lanes = new Lanes();
  readonly #inFlight = new Map<number, InFlight>();
  readonly #ends: TaskEnds;
  readonly #roster: HostRoster;
  readonly #reader: ResultReader;
  readonly #sender: TaskSender;
  readonly #room: QueueRoom;
  #nextTaskId = 1;
  /** Tasks waiting here, not yet published. */
  #waiting = 0;
  /** Published tasks no host has started yet (as far as we know). */
  #published = 0;
  #running = 0;
  #openMessages = 0;
  #publishScheduled = false;
  #nextLane = 0;
  #stopped = false;
  /** Since when hosts have had a worker free (wall-clock ms), 0 while none is. */
  #idleSince = 0;
  #stoppedAll: Promise<void> | null = null;

  constructor(context: ExecutorContext, link: ClusterLink, client: string) {
    this.#context = context;
    this.#link = link;
    this.#client = client;
    this.#room = new QueueRoom(
      context,
      () => this.queued,
      () => Math.max(0, this.#roster.workers - this.#running),
    );
    this.#ends = new TaskEnds(context, {
      unqueued: () => this.#waiting--,
      dispatchIfQueued: () => this.#schedulePublish(),
      wakeIfRoom: () => this.#room.wakeIfRoom(),
      retire: () => {},
    });
    this.#roster = new HostRoster(context.events, {
      capacityChanged: () => this.#schedulePublish(),
      hostLeft: (host) => this.#hostLeft(host),
    }, "inherit");
    this.#reader = new ResultReader(link.connection, client, (batch) => this.#onResults(batch));
    this.#sender = new TaskSender(link.connection, client, context, link.maxDeliver, {
      failUnsendable: (task, error) => this.#ends.failUnsendable(task, error),
      failNeverSent: (task, error) => this.#ends.failNeverSent(task, error),
      sent: (task, message) => {
        task.state = "sent";
        task.lane.queued--;
        this.#waiting--;
        this.#published++;
        if (message.ids.length === 1) this.#openMessages++; // its first task
        this.#inFlight.set(task.id, { task, message, row: null });
      },
      stopped: () => this.#stopped,
    });
  }

  /** The joined hosts' workers; 1 while none is known, so calls still chunk sensibly. */
  get size(): number {
    return Math.max(1, this.#roster.workers);
  }

  get queued(): number {
    return this.#waiting + this.#published;
  }

  get running(): number {
    return this.#running;
  }

  /** Once a second: a message left undelivered while hosts are idle is published again. */
  sweep(now: number): void {
    this.#roster.sweep(now);
    if (this.#roster.freeWorkers === 0) this.#idleSince = 0;
    else if (this.#idleSince === 0) this.#idleSince = now;
    this.#sender.republishStale(now, this.#idleSince, STALE_MS);
  }

  /** After a reconnect: publishes again what the stream lost meanwhile (see TaskSender). */
  recover(): Promise<void> {
    return this.#sender.recover();
  }

  /** Starts reading results; resolves once the reader is subscribed. */
  start(): Promise<void> {
    return this.#reader.start();
  }

  /** Folds in a host's heartbeat (the cluster connection hears them for every pool). */
  get roster(): HostRoster {
    return this.#roster;
  }

  lane(key: string, permissions: CanonicalPermissions | undefined): Lane {
    return this.#lanes.get(key, permissions);
  }

  newTask(spec: TaskSpec): PendingTask {
    // Its `transfer` is never used: the arguments are copied as they travel.
    return pendingTask(this.#nextTaskId++, spec, wallClock());
  }

  enqueue(task: PendingTask): void {
    task.lane.queue.push(task);
    task.lane.queued++;
    this.#waiting++;
    if (this.#context.events.listening.taskqueued) {
      this.#context.events.emit("taskqueued", taskQueuedDetail(task, this.queued));
    }
    this.#schedulePublish();
  }

  cancel(tasks: Iterable<PendingTask>, reason: unknown): void {
    const ids: number[] = [];
    for (const task of tasks) {
      if (task.state === "queued") this.#ends.dropQueued(task, reason);
      else if (task.state === "sent") {
        const flight = this.#inFlight.get(task.id);
        task.state = "done";
        this.#context.recorder.cancelled += task.items;
        const now = wallClock();
        const start = task.startedAt > 0 ? task.startedAt : now;
        const worker = flight?.row?.id ?? -1;
        emitTaskEnd(this.#context.events, task, worker, false, reason, now - start, start, true);
        if (flight) {
          this.#forget(flight);
          flight.message.cancelled++;
          if (flight.message.cancelled === flight.message.ids.length) {
            this.#sender.delete(flight.message);
          }
        }
        ids.push(task.id);
      }
    }
    if (ids.length > 0) this.#sender.notify({ client: this.#client, ids });
    this.#room.wakeIfRoom();
    this.#schedulePublish();
  }

  assertQueueRoom(tasks: number, method: string): void {
    this.#room.assert(tasks, method);
  }

  hasQueueRoom(tasks: number): boolean {
    return this.#room.has(tasks);
  }

  onQueueRoom(wake: () => void): void {
    this.#room.onRoom(wake);
  }

  workerStats(now: number): WorkerStatsSnapshot {
    return this.#roster.snapshot(now);
  }

  /** The pool closed and nothing is left: stop reading, leave the hosts be. */
  retireAll(): void {
    this.#shutdown();
  }

  stop(reason: PoolClosedError): void {
    this.#stopped = true;
    for (const lane of this.#lanes.list) {
      for (const task of lane.queue) {
        if (task.state === "queued") this.#ends.dropQueued(task, reason);
      }
      lane.queue.clear();
    }
    this.cancel([...this.#inFlight.values()].map((flight) => flight.task), reason);
    this.#shutdown();
  }

  exited(): Promise<void> {
    return this.#stoppedAll ?? Promise.resolve();
  }

  /** The connection is closing: every unfinished task fails with `error`, as on terminate. */
  abandon(error: PoolClosedError): Promise<void> {
    const tasks: PendingTask[] = [];
    for (const lane of this.#lanes.list) {
      for (const task of lane.queue) if (task.state === "queued") tasks.push(task);
    }
    for (const flight of this.#inFlight.values()) tasks.push(flight.task);
    this.stop(error);
    for (const task of tasks) task.job.fail(task, error);
    return this.exited();
  }

  /**
   * The pool is done with the cluster (closed and drained, or stopped): hosts hear its
   * goodbye, so a message of it still in the stream is dropped as soon as it is pulled, and
   * its messages still open are deleted. (Not a purge by subject: on nats-server 2.9 a
   * filtered purge of a work queue can make its consumer skip other clients' messages
   * published meanwhile, which the model-based test caught as tasks never delivered.)
   */
  #shutdown(): void {
    if (this.#stoppedAll) return;
    this.#stopped = true;
    this.#roster.clear(wallClock());
    this.#sender.notify({ client: this.#client, ids: [], all: true });
    this.#sender.deleteOpen();
    this.#stoppedAll = this.#reader.stop().then(() => this.#link.detach(this));
  }

  #schedulePublish(): void {
    if (this.#publishScheduled || this.#stopped || this.#waiting === 0) return;
    this.#publishScheduled = true;
    queueMicrotask(() => {
      this.#publishScheduled = false;
      this.#publish();
    });
  }

  /** Publishes messages while fewer than the window are open, lanes in turn. */
  #publish(): void {
    const window = Math.max(2, AHEAD_PER_WORKER * this.#roster.workers);
    const budget = this.#link.connection.maxPayload / 2;
    let idle = 0;
    while (!this.#stopped && this.#waiting > 0 && this.#openMessages < window) {
      const lane = this.#lanes.list[this.#nextLane++ % this.#lanes.list.length]!;
      const batch = takeBatch(lane, this.#context.estimates, budget);
      if (batch.length === 0) {
        if (++idle >= this.#lanes.list.length) break;
        continue;
      }
      idle = 0;
      this.#sender.send(lane, batch);
    }
  }

  /** A task left `#inFlight`: counted out of the published or running ones. */
  #forget(flight: InFlight): void {
    this.#inFlight.delete(flight.task.id);
    if (flight.row !== null) {
      this.#running--;
      if (flight.row.task === flight.task) flight.row.task = null;
    } else this.#published--;
    if (--flight.message.open === 0) {
      this.#sender.closed(flight.message);
      this.#openMessages--;
      this.#schedulePublish();
    }
  }

  /**
   * A host's word on some tasks. Its outcomes are settled before its starts, and those of
   * tasks known to run before the others: a host's entries may come in any order within
   * one message (its calls settle in their own time), and a start read before the outcome
   * that freed its worker would show more tasks running there than it has workers.
   */
  #onResults(batch: ResultBatch): void {
    const now = wallClock();
    const later: ResultEntry[] = [];
    for (const entry of batch.entries) {
      const flight = this.#inFlight.get(entry.id);
      if (flight === undefined) continue; // settled already: a redelivery's repeat
      if ("runMs" in entry && flight.row?.host.name === batch.host) this.#finish(flight, entry);
      else later.push(entry);
    }
    for (const entry of later) {
      const flight = this.#inFlight.get(entry.id);
      if (flight !== undefined && "runMs" in entry) {
        this.#started(flight, batch, entry.started, now);
        this.#finish(flight, entry);
      }
    }
    for (const entry of later) {
      const flight = this.#inFlight.get(entry.id);
      if (flight !== undefined && !("runMs" in entry) && flight.row?.host.name !== batch.host) {
        this.#started(flight, batch, entry.started, now);
      }
    }
    this.#room.wakeIfRoom();
    this.#schedulePublish();
  }

  #finish(flight: InFlight, entry: Extract<ResultEntry, { runMs: number }>): void {
    const task = flight.task;
    const ok = !("error" in entry);
    const row = flight.row;
    this.#forget(flight);
    task.state = "done";
    this.#context.estimates.observe(task.definition.fnId, entry.runMs, task.items);
    this.#context.recorder.record(
      ok,
      Math.max(0, entry.started - task.queuedAt),
      entry.runMs,
      task.items,
    );
    this.#roster.finished(row, task, ok, entry.runMs);
    const workerId = row?.id ?? -1;
    const events = this.#context.events;
    if (ok) {
      emitTaskEnd(events, task, workerId, true, undefined, entry.runMs, entry.started);
      task.job.complete(
        task,
        task.mode === "apply" ? entry.value : unpackNumbers(entry.value as unknown[] | Packed),
      );
    } else {
      const error = remoteErrorToCaller(entry.error);
      emitTaskEnd(events, task, workerId, false, error, entry.runMs, entry.started);
      task.job.fail(task, error);
    }
  }

  #started(flight: InFlight, from: ResultBatch, started: number, now: number): void {
    const task = flight.task;
    const wasRunning = flight.row !== null;
    if (flight.row?.task === task) flight.row.task = null;
    task.startedAt = started > 0 ? started : now;
    // Placed first: placing may make the host known, and its listeners see stats().
    flight.row = this.#roster.place(task, from, now);
    if (!wasRunning) {
      this.#published--;
      this.#running++;
    }
    flight.message.started = true;
    if (this.#context.events.listening.taskstart) {
      this.#context.events.emit("taskstart", {
        taskId: task.id,
        task: taskName(task.definition),
        workerId: flight.row?.id ?? -1,
        waitMs: Math.max(0, task.startedAt - task.queuedAt),
        time: task.startedAt,
      });
    }
  }

  /** A host went: what it ran waits for JetStream to hand it to another after its ack wait. */
  #hostLeft(host: HostRecord): void {
    for (const flight of this.#inFlight.values()) {
      if (flight.row?.host !== host) continue;
      flight.row = null;
      flight.task.startedAt = 0;
      this.#running--;
      this.#published++;
    }
  }
}
