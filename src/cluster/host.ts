/**
 * A worker host: lends this machine's workers to a cluster (`deno task pool worker`).
 *
 * @module
 */

import type { Isolation, Permissions, PoolStats } from "../../mod.ts";
import type { ClusterConnectionOptions } from "./client.ts";

/** Options of `serveWorkerHost`. */
export interface WorkerHostOptions extends ClusterConnectionOptions {
  /** Workers it lends; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** `"worker"` (default) or `"process"`: every task of this host runs in a subprocess. */
  isolation?: Isolation;
  /**
   * The most a task may be granted here (its ceiling): a task's own set runs exactly as
   * asked, `"inherit"` means this ceiling, and a set beyond it fails with `PermissionError`.
   * Default `"none"`.
   */
  permissions?: Permissions;
  /** URL prefixes of the task modules it may import (`file:///srv/app/`, `https://…`). */
  modules?: readonly string[];
  /** Whether it runs inline functions (their source comes with the task); default false. */
  allowInline?: boolean;
  /** Its name in stats and the dashboard; default `hostname:pid`. */
  hostName?: string;
  /**
   * How long a task's message may go unacknowledged before NATS gives it to another host,
   * ms; default 30,000. The host keeps long tasks' leases with in-progress acks.
   */
  ackWaitMs?: number;
}

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
 * @example
 * ```ts ignore
 * import { serveWorkerHost } from "@seed/pool/cluster";
 *
 * await using host = await serveWorkerHost({
 *   servers: "nats://127.0.0.1:4222",
 *   name: "jobs",
 *   size: 2,
 *   modules: ["file:///srv/app/"],
 * });
 * await host.closed;
 * ```
 */
export function serveWorkerHost(_options: WorkerHostOptions): Promise<WorkerHost> {
  return Promise.reject(new Error("Cannot serve as the cluster is under construction"));
}
