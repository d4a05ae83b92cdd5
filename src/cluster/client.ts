// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * The client side of a cluster: a NATS connection that a `Pool` runs its calls through.
 * One connection serves every pool made with it: each pool is a client of its own (its own
 * subjects, its own liveness responder), and the connection hears the hosts' heartbeats for
 * all of them.
 *
 * @module
 */

import { nuid, type Subscription } from "npm:@nats-io/transport-node@3.4.0";
import { PoolClosedError } from "../core/errors.ts";
import { type ExecutorContext, MAKE_EXECUTOR } from "../core/executor.ts";
import { wallClock } from "../core/stats.ts";
import { type ClusterConnection, openClusterConnection } from "./connection.ts";
import { ClusterExecutor, type ClusterLink } from "./executor.ts";
import { decode, type Heartbeat } from "./wire.ts";

/** How to reach the NATS server and prove who we are: passed through to the NATS client. */
export interface ClusterConnectionOptions {
  /** The NATS server(s): `nats://host:4222`, or several for a NATS cluster. */
  servers: string | string[];
  /** The cluster's name: clients and hosts of one name share its streams (letters, digits, `-`, `_`). */
  name: string;
  /** A token, for a server started with `--auth`. */
  token?: string;
  /** A user name, with `pass`. */
  user?: string;
  /** The password of `user`. */
  pass?: string;
  /** A NATS credentials file (JWT and NKey seed), for an operator-managed server. */
  credsFile?: string;
  /** TLS: `true` for the system's roots, or files of a CA, a client certificate and its key. */
  tls?: true | { caFile?: string; certFile?: string; keyFile?: string };
  /** How long to try to connect, ms; default 10,000. */
  connectTimeoutMs?: number;
}

/** Options of `connectCluster`. */
export interface ClusterOptions extends ClusterConnectionOptions {
  /**
   * A task delivered this many times without an answer (its hosts died) fails with
   * `WorkerCrashError`; default 3.
   */
  maxDeliver?: number;
}

/**
 * A connection to a cluster, for `new Pool({ cluster })`. Closing it stops the pools that
 * use it (their unfinished calls reject with `PoolClosedError`).
 */
export interface Cluster extends AsyncDisposable {
  /** The cluster's name. */
  readonly name: string;
  /** Closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects to a cluster's NATS server, creating its streams if they are not there yet.
 *
 * @param options The server(s), the cluster's name, and how to authenticate.
 * @throws {TypeError} for options of the wrong type.
 * @throws {Error} when the server cannot be reached, refuses us, or has no JetStream.
 *
 * @example The same Pool, on the hosts of cluster "jobs" (see docs/cluster.md)
 * ```ts ignore
 * import { Pool } from "@seed/pool";
 * import { connectCluster } from "@seed/pool/cluster";
 *
 * await using cluster = await connectCluster({ servers: "nats://127.0.0.1:4222", name: "jobs" });
 * await using pool = new Pool({ cluster });
 * console.log(await pool.map((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 * ```
 *
 * @example A server that cannot be reached is a clear error, not a hang
 * ```ts
 * import { connectCluster } from "@seed/pool/cluster";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   connectCluster({ servers: "nats://127.0.0.1:1", name: "jobs", connectTimeoutMs: 1_000 }),
 *   /Cannot connect to the cluster as the NATS server at nats:\/\/127.0.0.1:1/,
 * );
 * ```
 */
export async function connectCluster(options: ClusterOptions): Promise<Cluster> {
  const maxDeliver = options?.maxDeliver ?? 3;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) {
    throw new RangeError(
      `Cannot connect to the cluster as 'maxDeliver' must be an integer of at least 1: ` +
        `current value is ${maxDeliver}`,
    );
  }
  const connection = await openClusterConnection(options, "connect to the cluster");
  return new ClusterClient(connection, maxDeliver);
}

/** How often the client looks for hosts that fell silent. */
const SWEEP_MS = 1_000;

class ClusterClient implements Cluster, ClusterLink {
  readonly connection: ClusterConnection;
  readonly maxDeliver: number;
  readonly #executors = new Map<ClusterExecutor, Subscription>();
  readonly #heartbeats: Subscription;
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #prefix = nuid.next();
  #closed: Promise<void> | null = null;
  #pools = 0;

  constructor(connection: ClusterConnection, maxDeliver: number) {
    this.connection = connection;
    this.maxDeliver = maxDeliver;
    this.#heartbeats = connection.nc.subscribe(connection.names.heartbeats, {
      callback: (error, message) => {
        if (error) return;
        let beat: Heartbeat;
        try {
          beat = decode<Heartbeat>(message.data);
        } catch {
          return;
        }
        const now = wallClock();
        for (const executor of this.#executors.keys()) executor.roster.heard(beat, now);
      },
    });
    this.#recoverOnReconnect();
    this.#sweep = setInterval(() => {
      const now = wallClock();
      for (const executor of this.#executors.keys()) executor.sweep(now);
    }, SWEEP_MS);
  }

  get name(): string {
    return this.connection.names.name;
  }

  /** After a reconnect, each pool publishes again what the stream lost meanwhile. */
  async #recoverOnReconnect(): Promise<void> {
    for await (const status of this.connection.nc.status()) {
      if (status.type !== "reconnect") continue;
      for (const executor of this.#executors.keys()) executor.recover().catch(() => {});
    }
  }

  [MAKE_EXECUTOR](context: ExecutorContext): ClusterExecutor {
    if (this.#closed) {
      throw new PoolClosedError(
        `Cannot create pool '${context.name}' as its cluster connection is closed`,
      );
    }
    const client = `${this.#prefix}${++this.#pools}`;
    const executor = new ClusterExecutor(context, this, client);
    const { nc, names } = this.connection;
    // Hosts ask before they run a client's tasks, and while they do: no answer, no work.
    const alive = nc.subscribe(names.client(client), {
      callback: (_error, message) => {
        message.respond();
      },
    });
    this.#executors.set(executor, alive);
    executor.start().catch((error) =>
      executor.abandon(
        new PoolClosedError(
          `Cannot run the tasks of pool '${context.name}' on cluster '${this.name}' as its ` +
            `results cannot be read: ${(error as Error)?.message ?? error}`,
        ),
      )
    );
    return executor;
  }

  detach(executor: ClusterExecutor): void {
    this.#executors.get(executor)?.unsubscribe();
    this.#executors.delete(executor);
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweep);
    const error = new PoolClosedError(
      `Cannot run the task as its cluster connection ('${this.name}') was closed`,
    );
    await Promise.all([...this.#executors.keys()].map((executor) => executor.abandon(error)));
    this.#heartbeats.unsubscribe();
    await this.connection.nc.drain().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
