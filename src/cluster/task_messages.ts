// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * Task messages on their way to the tasks stream: a lane's next tasks cut into one message
 * (tiny ones together, any other alone), encoded, split below the server's message limit,
 * and published until the server has them. What cannot travel fails there and then, with
 * the error a local pool gives (`TypeError` for what cannot be cloned), or a `RangeError`
 * for one task too big for any message.
 *
 * @module
 */

import { headers, type MsgHdrs } from "npm:@nats-io/transport-node@3.4.0";
import type { ExecutorContext } from "../core/executor.ts";
import type { Lane, PendingTask, RunTimeEstimates } from "../core/scheduler.ts";
import { taskName } from "../core/task.ts";
import type { FunctionDefinition } from "../wire/protocol.ts";
import type { ClusterConnection } from "./connection.ts";
import { type CancelNotice, encode, packNumbers, type TaskBatch, TASKS_HEADER } from "./wire.ts";

/** A message carries tasks that all could not last longer than this, by their estimates. */
const MESSAGE_TARGET_MS = 20;
/** At most this many tasks to a message. */
const MAX_TASKS_PER_MESSAGE = 256;

/** A published message, until every task of it is done. */
export interface Published {
  readonly ids: number[];
  /** Its tasks not done yet. */
  open: number;
  /** Its tasks cancelled: when all are, the message is deleted from the stream. */
  cancelled: number;
  /** Its sequence in the stream, once the server stored it (0 before). */
  seq: number;
  /** What was published, kept while it is open: published again if the stream lost it. */
  data: Uint8Array | null;
  /** Times it was published again (each time under a new message id). */
  again: number;
  /** When the server stored it last (ms since the epoch), 0 before. */
  storedAt: number;
  /** Whether a host said one of its tasks started. */
  started: boolean;
}

/** What the sender tells its executor. */
export interface SenderHooks {
  /** A task's arguments cannot be cloned. */
  failUnsendable(task: PendingTask, error: unknown): void;
  /** A task cannot be sent for another reason (its size). */
  failNeverSent(task: PendingTask, error: unknown): void;
  /** A task is in a message now. */
  sent(task: PendingTask, message: Published): void;
  /** Whether the executor stopped (nothing more is published then). */
  stopped(): boolean;
}

/** The next tasks of a lane for one message: tiny ones together, any other alone. */
export function takeBatch(
  lane: Lane,
  estimates: RunTimeEstimates,
  budgetBytes: number,
): PendingTask[] {
  const batch: PendingTask[] = [];
  let ms = 0;
  let bytes = 0;
  for (let task = lane.queue.peek(); task; task = lane.queue.peek()) {
    if (task.state !== "queued") {
      lane.queue.shift();
      continue;
    }
    const peak = estimates.peakMs(task);
    if (
      batch.length > 0 &&
      (ms + peak > MESSAGE_TARGET_MS || bytes + task.bytes > budgetBytes ||
        batch.length >= MAX_TASKS_PER_MESSAGE)
    ) break;
    lane.queue.shift();
    task.peakMs = peak;
    batch.push(task);
    ms += peak;
    bytes += task.bytes;
    if (peak > MESSAGE_TARGET_MS) break;
  }
  return batch;
}

/** Encodes and publishes task messages for one client. */
export class TaskSender {
  readonly #connection: ClusterConnection;
  readonly #client: string;
  readonly #context: ExecutorContext;
  readonly #maxDeliver: number;
  readonly #hooks: SenderHooks;
  readonly #open = new Set<Published>();

  constructor(
    connection: ClusterConnection,
    client: string,
    context: ExecutorContext,
    maxDeliver: number,
    hooks: SenderHooks,
  ) {
    this.#connection = connection;
    this.#client = client;
    this.#context = context;
    this.#maxDeliver = maxDeliver;
    this.#hooks = hooks;
  }

  /** Sends a lane's batch: in one message, or in halves when it is too big for one. */
  send(lane: Lane, batch: PendingTask[]): void {
    // Failing one task may have ended others of its call meanwhile (the call failed).
    if (batch.some((task) => task.state !== "queued")) {
      batch = batch.filter((task) => task.state === "queued");
      if (batch.length === 0) return;
    }
    let data: Uint8Array;
    try {
      data = encode(this.#message(lane, batch));
    } catch (error) {
      // Find what cannot travel: each task alone, the others go on.
      const good: PendingTask[] = [];
      for (const task of batch) {
        if (task.state !== "queued") continue; // its call failed with another of its tasks
        try {
          encode(task.args);
          good.push(task);
        } catch (cause) {
          this.#hooks.failUnsendable(task, cause);
        }
      }
      if (good.length > 0 && good.length === batch.length) {
        // Every task alone travels, so the pool's own options do not (its initArgs).
        for (const task of good) {
          if (task.state === "queued") this.#hooks.failUnsendable(task, error);
        }
      } else if (good.length > 0) this.send(lane, good);
      return;
    }
    const limit = this.#connection.maxPayload;
    if (data.byteLength > limit) {
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        this.send(lane, batch.slice(0, half));
        this.send(lane, batch.slice(half));
        return;
      }
      const task = batch[0]!;
      const what = task.mode === "apply" ? "arguments" : "items";
      this.#hooks.failNeverSent(
        task,
        new RangeError(
          `Cannot send the ${what} of task '${taskName(task.definition)}' to the cluster as ` +
            `they take ${data.byteLength} bytes and the NATS server's message limit ` +
            `(max_payload) is ${limit}: pass smaller pieces, or raise max_payload`,
        ),
      );
      return;
    }
    const message: Published = {
      ids: [],
      open: batch.length,
      cancelled: 0,
      seq: 0,
      data,
      again: 0,
      storedAt: 0,
      started: false,
    };
    for (const task of batch) {
      message.ids.push(task.id);
      this.#hooks.sent(task, message);
    }
    this.#open.add(message);
    this.#publish(message, data, 0);
  }

  /** Deletes every open message from the stream (the client is going). */
  deleteOpen(): void {
    for (const message of this.#open) this.delete(message);
    this.#open.clear();
  }

  /**
   * Publishes again each open message no host has taken for `staleMs` while hosts had
   * workers free all along (`idleSince`: since when, or 0 if none is free). The server's
   * consumer was seen, rarely, to leave a stored message undelivered to hosts that pulled
   * (nats-server 2.9 under purges and deletes): this bounds such a wait instead of hanging.
   * A task may so run twice; each call still gets each result once.
   */
  republishStale(now: number, idleSince: number, staleMs: number): void {
    if (idleSince === 0 || now - idleSince < staleMs || this.#hooks.stopped()) return;
    for (const message of this.#open) {
      if (message.started || message.data === null || message.storedAt === 0) continue;
      if (now - message.storedAt < staleMs) continue;
      this.delete(message);
      message.again++;
      message.seq = 0;
      message.storedAt = 0;
      this.#publish(message, message.data, 0);
    }
  }

  /** Its tasks are all done: nothing of it is published again. */
  closed(message: Published): void {
    this.#open.delete(message);
    message.data = null;
  }

  /**
   * After a reconnect: publishes again each open message that the stream no longer holds (a
   * host that took this client for dead while it was cut off dropped it, or stopped it and
   * let it go). A message a host finished meanwhile, whose results are still on their way,
   * may so run twice; its results still settle each task once.
   */
  async recover(): Promise<void> {
    const { jsm, names } = this.#connection;
    for (const message of [...this.#open]) {
      if (message.seq === 0 || message.data === null) continue;
      const stored = await jsm.streams.getMessage(names.tasksStream, { seq: message.seq })
        .catch(() => null);
      if (stored !== null || message.open === 0 || this.#hooks.stopped()) continue;
      message.again++;
      message.seq = 0;
      this.#publish(message, message.data, 0);
    }
  }

  /** Tells the hosts of tasks this client gave up (or, `all`, of its goodbye). */
  notify(notice: CancelNotice): void {
    const { nc, names } = this.#connection;
    try {
      nc.publish(names.cancel, encode(notice));
    } catch {
      // Closed meanwhile: the hosts find the client gone on their own.
    }
  }

  /** Deletes a message whose tasks were all cancelled, so no host that joins later runs it. */
  delete(message: Published): void {
    if (message.seq === 0) return;
    const { jsm, names } = this.#connection;
    jsm.streams.deleteMessage(names.tasksStream, message.seq, false).catch(() => {});
  }

  #message(lane: Lane, batch: PendingTask[]): TaskBatch {
    const definitions = new Map<number, FunctionDefinition>();
    for (const task of batch) definitions.set(task.definition.fnId, task.definition);
    const context = this.#context;
    return {
      client: this.#client,
      profile: {
        isolation: context.isolation,
        isolationGiven: context.isolationGiven,
        initializer: context.initializer,
        initArgs: context.initArgs,
        maxTasksPerWorker: context.maxTasksPerWorker,
        memoryLimitMb: context.memoryLimitMb,
      },
      maxDeliver: this.#maxDeliver,
      permissions: lane.permissions,
      definitions: [...definitions.values()],
      tasks: batch.map((task) => ({
        id: task.id,
        fnId: task.definition.fnId,
        mode: task.mode,
        args: task.mode === "map" ? packNumbers(task.args) : task.args,
      })),
    };
  }

  /** Publishes until the server took it: a reconnecting server dedups by message id. */
  #publish(message: Published, data: Uint8Array, attempt: number): void {
    const { js, names } = this.#connection;
    js.publish(names.tasks(this.#client), data, {
      msgID: `${this.#client}.${message.ids[0]}.${message.again}`,
      timeout: 5_000,
      ...(message.ids.length > 1 ? { headers: manyTasks() } : {}),
    }).then(
      (ack) => {
        message.seq = ack.seq;
        message.storedAt = Date.now();
        if (message.cancelled === message.ids.length) this.delete(message);
      },
      () => {
        if (this.#hooks.stopped() || message.open === 0) return;
        setTimeout(
          () => this.#publish(message, data, attempt + 1),
          Math.min(2_000, 100 * 2 ** attempt),
        );
      },
    );
  }
}

function manyTasks(): MsgHdrs {
  const many = headers();
  many.set(TASKS_HEADER, "many");
  return many;
}
