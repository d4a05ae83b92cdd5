/**
 * A host's own `stats()`: its local pools (one per client it serves) seen as one pool of
 * its size, as `pool worker --serve` shows it.
 *
 * @module
 */

import type { Isolation } from "../core/events.ts";
import type { Pool } from "../core/pool.ts";
import type { LatencySummary, PoolStats } from "../core/stats.ts";

/** The stats of a host's pools as one. */
export function mergeStats(
  name: string,
  size: number,
  isolation: Isolation,
  pools: readonly Pool[],
): PoolStats {
  const all = pools.map((pool) => pool.stats());
  const sum = (pick: (s: PoolStats) => number) => all.reduce((n, s) => n + pick(s), 0);
  const worst = (pick: (s: PoolStats) => LatencySummary): LatencySummary => ({
    p50: Math.max(0, ...all.map((s) => pick(s).p50)),
    p95: Math.max(0, ...all.map((s) => pick(s).p95)),
    p99: Math.max(0, ...all.map((s) => pick(s).p99)),
  });
  const now = Date.now();
  return {
    name,
    size,
    isolation,
    state: "running",
    workers: all.flatMap((s) => s.workers),
    queued: sum((s) => s.queued),
    running: sum((s) => s.running),
    completed: sum((s) => s.completed),
    failed: sum((s) => s.failed),
    cancelled: sum((s) => s.cancelled),
    throughput: sum((s) => s.throughput),
    utilization: Math.min(1, sum((s) => s.utilization * s.size) / size),
    latency: { waitMs: worst((s) => s.latency.waitMs), runMs: worst((s) => s.latency.runMs) },
    uptimeMs: Math.max(0, ...all.map((s) => s.uptimeMs)),
    time: now,
  };
}
