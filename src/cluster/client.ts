/**
 * The client side of a cluster: a NATS connection that a `Pool` runs its calls through.
 *
 * @module
 */

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
 * @example
 * ```ts ignore
 * import { Pool } from "@seed/pool";
 * import { connectCluster } from "@seed/pool/cluster";
 *
 * await using cluster = await connectCluster({ servers: "nats://127.0.0.1:4222", name: "jobs" });
 * await using pool = new Pool({ cluster });
 * console.log(await pool.map((x: number) => x * x, [1, 2, 3]));
 * ```
 */
export function connectCluster(_options: ClusterOptions): Promise<Cluster> {
  return Promise.reject(new Error("Cannot connect as the cluster is under construction"));
}
