/**
 * The same `Pool` on many machines: tasks go through a NATS server with JetStream to worker
 * hosts anywhere that reaches it. `connectCluster` connects a client (`new Pool({ cluster })`
 * then runs every call there); `serveWorkerHost` lends this machine's workers to a cluster,
 * as `deno task pool worker` does. Only this entry point loads the NATS client.
 *
 * @module
 */

export { connectCluster } from "./src/cluster/client.ts";
export type { Cluster, ClusterConnectionOptions, ClusterOptions } from "./src/cluster/client.ts";
export { serveWorkerHost } from "./src/cluster/host.ts";
export type { WorkerHost } from "./src/cluster/host.ts";
export type { WorkerHostOptions } from "./src/cluster/host_options.ts";
export type { Isolation, Permissions, PoolStats } from "./mod.ts";
