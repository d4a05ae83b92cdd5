// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * A worker host: lends this machine's workers to a cluster (`deno task pool worker`). It
 * pulls task messages from the cluster's work queue only while it has a free worker, keeps
 * their leases with in-progress acknowledgements while they run, publishes their outcomes,
 * and acknowledges a message only once its outcomes are stored: a host that dies loses
 * nothing, NATS hands its messages to another host after the ack wait.
 *
 * @module
 */

import type { Consumer, JsMsg } from "npm:@nats-io/jetstream@3.4.0";
import { AckPolicy, DeliverPolicy } from "npm:@nats-io/jetstream@3.4.0";
import type { PoolStats } from "../core/stats.ts";
import { POOL_EVENT_TYPES, type PoolEventType } from "../core/events.ts";
import { ClientLiveness } from "./client_liveness.ts";
import { type ClusterConnection, openClusterConnection } from "./connection.ts";
import { type CheckedHost, checkHostOptions, type WorkerHostOptions } from "./host_options.ts";
import { HostTasks } from "./host_tasks.ts";
import { mergeStats } from "./host_stats.ts";
import { ResultPublisher } from "./result_publisher.ts";
import {
  type CancelNotice,
  decode,
  encode,
  type Heartbeat,
  nanosOf,
  type TaskBatch,
  TASKS_HEADER,
} from "./wire.ts";

/** A running worker host. `close()` lets it finish what it holds, then leave. */
export interface WorkerHost extends EventTarget, AsyncDisposable {
  /** Its name, as clients' stats show it. */
  readonly name: string;
  /** The workers it lends. */
  readonly size: number;
  /** Its own workers, as a pool's `stats()` (what `--serve` shows). */
  stats(): PoolStats;
  /** Stops taking tasks, finishes (or hands back) what it holds, and leaves. */
  close(): Promise<void>;
  /** Resolves when it has left (after `close()`, or when its connection was lost for good). */
  readonly closed: Promise<void>;
}

/**
 * Joins a cluster as a worker host.
 *
 * @param options The server(s), the cluster's name, authentication, and what this host
 * lends and allows.
 * @throws {TypeError} / {RangeError} for bad options; {Error} when the server cannot be
 * reached; {PermissionError} when a ceiling narrower than "inherit" needs
 * `--unstable-worker-options` and it is missing.
 *
 * @example Lend two workers to cluster "jobs", for the task modules under /srv/app/
 * ```ts ignore
 * import { serveWorkerHost } from "@seed/pool/cluster";
 *
 * await using host = await serveWorkerHost({
 *   servers: "nats://127.0.0.1:4222",
 *   name: "jobs",
 *   size: 2,
 *   modules: ["file:///srv/app/"],
 * });
 * await host.closed; // until close(), or the connection is lost for good
 * ```
 *
 * @example Options are checked before anything connects
 * ```ts
 * import { serveWorkerHost } from "@seed/pool/cluster";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   serveWorkerHost({ servers: "nats://127.0.0.1:4222", name: "jobs", size: 0 }),
 *   RangeError,
 * );
 * ```
 */
export async function serveWorkerHost(options: WorkerHostOptions): Promise<WorkerHost> {
  const where = "serve a worker host";
  const policy = checkHostOptions(options, where);
  const connection = await openClusterConnection(options, where);
  try {
    const consumer = await hostsConsumer(connection, policy.ackWaitMs);
    return new Host(connection, consumer, policy);
  } catch (error) {
    await connection.nc.close().catch(() => {});
    throw error;
  }
}

/** The hosts' shared durable consumer; its ack wait follows the newest host's. */
async function hostsConsumer(connection: ClusterConnection, ackWaitMs: number): Promise<Consumer> {
  const { jsm, js, names } = connection;
  const config = {
    durable_name: names.hostsConsumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanosOf(ackWaitMs),
    max_deliver: -1,
  };
  const existing = await jsm.consumers.info(names.tasksStream, names.hostsConsumer).catch(() =>
    null
  );
  if (existing === null) {
    await jsm.consumers.add(names.tasksStream, config).catch(async (error) => {
      // Another host made it meanwhile.
      await jsm.consumers.info(names.tasksStream, names.hostsConsumer).catch(() => {
        throw error;
      });
    });
  } else if (existing.config.ack_wait !== config.ack_wait) {
    await jsm.consumers.update(names.tasksStream, names.hostsConsumer, {
      ack_wait: config.ack_wait,
    });
  }
  return await js.consumers.get(names.tasksStream, names.hostsConsumer);
}

const HEARTBEAT_MS = 1_000;
/** How often the clients of running tasks are asked whether they still wait. */
const LIVENESS_MS = 3_000;

class Host extends EventTarget implements WorkerHost {
  readonly name: string;
  readonly size: number;
  readonly closed: Promise<void>;
  readonly #connection: ClusterConnection;
  readonly #consumer: Consumer;
  readonly #policy: CheckedHost;
  readonly #publisher: ResultPublisher;
  readonly #tasks: HostTasks;
  readonly #liveness: ClientLiveness;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #held = new Set<Promise<void>>();
  /** Workers not taken by a held message; -1 while one batch is held ahead. */
  #free: number;
  /** Held messages of a single task (which may be long, so none is held ahead of them). */
  #heldSingles = 0;
  #wakePuller: (() => void) | null = null;
  #closing = false;
  #closeStarted: Promise<void> | null = null;
  #resolveClosed!: () => void;

  constructor(connection: ClusterConnection, consumer: Consumer, policy: CheckedHost) {
    super();
    this.name = policy.name;
    this.size = policy.size;
    this.#free = policy.size;
    this.#connection = connection;
    this.#consumer = consumer;
    this.#policy = policy;
    this.#publisher = new ResultPublisher(
      connection,
      policy.name,
      policy.size,
      policy.isolation,
    );
    this.#tasks = new HostTasks(policy, this.#publisher, this);
    this.#liveness = new ClientLiveness(connection);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    const { nc, names } = connection;
    nc.subscribe(names.cancel, {
      callback: (error, message) => {
        if (error) return;
        try {
          this.#onCancel(decode<CancelNotice>(message.data));
        } catch {
          // not a notice of ours
        }
      },
    });
    this.#beat("joined");
    this.#timers.push(setInterval(() => this.#beat("joined"), HEARTBEAT_MS));
    this.#timers.push(setInterval(() => this.#checkClients(), LIVENESS_MS));
    nc.closed().then(() => this.#finish());
    this.#pull();
  }

  /** Listening costs nothing until someone listens: then the local pools' events come. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
    if ((POOL_EVENT_TYPES as readonly string[]).includes(type)) {
      this.#tasks.forward(type as PoolEventType);
    }
  }

  stats(): PoolStats {
    return mergeStats(this.name, this.size, this.#policy.isolation, this.#tasks.pools());
  }

  close(): Promise<void> {
    this.#closeStarted ??= this.#close();
    return this.#closeStarted;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closing = true;
    this.#wakePuller?.();
    // Finish what is held: its outcomes stored, its messages acknowledged.
    await Promise.all([...this.#held]);
    await this.#publisher.drained();
    this.#beat("left");
    await this.#tasks.close();
    await this.#connection.nc.drain().catch(() => {});
    this.#finish();
  }

  #finish(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#publisher.close();
    this.#resolveClosed();
  }

  #beat(state: Heartbeat["state"]): void {
    const beat: Heartbeat = {
      host: this.name,
      state,
      workers: this.size,
      busy: this.#tasks.busy,
      isolation: this.#policy.isolation,
    };
    try {
      this.#connection.nc.publish(this.#connection.names.heartbeats, encode(beat));
    } catch {
      // Reconnecting: the next beat goes out once we are back.
    }
    this.#liveness.sweep();
    this.#tasks.sweep(Date.now());
  }

  /** Pulls one message per free worker, for as long as the host runs. */
  async #pull(): Promise<void> {
    while (!this.#closing) {
      // One message more than workers, while all it holds are batches of tiny tasks: the
      // next batch is here when the last one ends, and waits behind at most a batch.
      if (this.#free <= 0 && !(this.#free === 0 && this.#heldSingles === 0)) {
        await new Promise<void>((resolve) => this.#wakePuller = resolve);
        this.#wakePuller = null;
        continue;
      }
      let message: JsMsg | null;
      try {
        message = await this.#consumer.next({ expires: 2_000 });
      } catch {
        if (this.#connection.nc.isClosed()) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      if (message === null) continue;
      if (this.#closing) {
        message.nak();
        return;
      }
      this.#free--;
      const single = isSingle(message);
      if (single) this.#heldSingles++;
      const held = this.#handle(message, single).finally(() => {
        this.#held.delete(held);
      });
      this.#held.add(held);
    }
  }

  async #handle(message: JsMsg, single: boolean): Promise<void> {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#free++;
      if (single) this.#heldSingles--;
      this.#wakePuller?.();
    };
    const lease = setInterval(() => message.working(), this.#policy.ackWaitMs / 3);
    try {
      let batch: TaskBatch;
      try {
        batch = decode<TaskBatch>(message.data);
      } catch {
        message.term();
        return;
      }
      const deliveries = message.info.deliveryCount;
      if (deliveries > batch.maxDeliver) {
        await this.#tasks.failRedelivered(batch, deliveries - 1);
      } else if (await this.#liveness.alive(batch.client)) {
        const { ran, stored } = this.#tasks.run(batch);
        await ran;
        release();
        await stored;
      } else this.#dropClient(batch.client);
      message.ack();
    } catch {
      // A malformed batch, or the connection is going: NATS hands it on.
      message.nak();
    } finally {
      clearInterval(lease);
      release();
    }
  }

  #onCancel(notice: CancelNotice): void {
    if (notice.all) {
      this.#liveness.markGone(notice.client);
      this.#dropClient(notice.client);
    } else this.#tasks.cancel(notice.client, notice.ids);
  }

  /**
   * Stops a gone client's tasks here. What it left in the stream is acknowledged unrun as it
   * is pulled (not purged by subject: see the client executor's shutdown).
   */
  #dropClient(client: string): void {
    this.#tasks.dropClient(client);
  }

  #checkClients(): void {
    for (const client of this.#tasks.runningClients()) {
      this.#liveness.alive(client).then((alive) => {
        if (!alive) this.#dropClient(client);
      });
    }
  }
}

/** Whether a message holds one task (its header says so; a batch's is "many"). */
function isSingle(message: JsMsg): boolean {
  return message.headers?.get(TASKS_HEADER) !== "many";
}
