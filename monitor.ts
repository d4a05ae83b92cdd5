/**
 * Watch a pool from outside: `serveMonitor(pool)` serves `/stats` (JSON), `/events`
 * (Server-Sent Events) and `/metrics` (Prometheus text) on loopback, and
 * `deno task tui --connect <url>` draws it live. `watchPool` gives the same batched stream
 * in-process.
 *
 * @example Serve a pool and scrape its metrics
 * ```ts
 * import { Pool } from "@seed/pool";
 * import { serveMonitor } from "@seed/pool/monitor";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, name: "docs" });
 * await using monitor = serveMonitor(pool);
 * await pool.apply((x: number) => x * x, [3]);
 * const text = await (await fetch(new URL("/metrics", monitor.url))).text();
 * assert.match(text, /seed_pool_tasks_completed_total\{pool="docs"\} 1/);
 * ```
 *
 * @module
 */

export { serveMonitor } from "./src/monitor/serve.ts";
export type { Monitor, MonitorOptions } from "./src/monitor/serve.ts";
export { watchPool } from "./src/monitor/watch.ts";
export type {
  MonitoredPool,
  MonitorMessage,
  PoolEventRecord,
  PoolWatch,
  TaskEventType,
  WatchOptions,
} from "./src/monitor/watch.ts";
