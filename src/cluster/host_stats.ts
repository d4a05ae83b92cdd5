/**
 * A host's own view, as `pool worker --serve` shows it: its local pools (one per client it
 * serves) seen as one pool of its size, their events on the host. Each local pool numbers
 * its workers and tasks from 1, so each pool's are offset by its own range.
 *
 * @module
 */

import type { Isolation, PoolEventType } from "../core/events.ts";
import type { Pool } from "../core/pool.ts";
import type { LatencySummary, PoolStats } from "../core/stats.ts";

/** Ids of a host's n-th local pool (workers and tasks) start at `n * ID_RANGE`. */
const ID_RANGE = 1_000_000;

/** A host's local pool, and where its ids start on the host. */
export interface HostPool {
  readonly pool: Pool;
  readonly offset: number;
}

/** The offset of the host's `n`-th local pool. */
export function idOffset(n: number): number {
  return (n % 1000) * ID_RANGE;
}

/** Re-dispatches a local pool's events of `type` on the host, with its ids offset. */
export function forwardEvent(pool: Pool, type: PoolEventType, host: EventTarget, offset: number) {
  pool.addEventListener(type, (event) => {
    const detail = { ...(event as CustomEvent).detail } as Record<string, unknown>;
    if (typeof detail.workerId === "number" && detail.workerId >= 0) detail.workerId += offset;
    if (typeof detail.taskId === "number") detail.taskId += offset;
    host.dispatchEvent(new CustomEvent(type, { detail }));
  });
}

/** The stats of a host's pools as one. */
export function mergeStats(
  name: string,
  size: number,
  isolation: Isolation,
  pools: readonly HostPool[],
): PoolStats {
  const all = pools.map(({ pool, offset }) => {
    const stats = pool.stats();
    return { ...stats, workers: stats.workers.map((w) => ({ ...w, id: w.id + offset })) };
  });
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
