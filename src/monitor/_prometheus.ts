/**
 * The monitor's `/metrics`: a pool's snapshot and latency histograms in Prometheus' text
 * exposition format (version 0.0.4).
 *
 * @module
 */

import type { TaskEndDetail } from "../core/events.ts";
import type { HostStats, PoolStats, WorkerStats } from "../core/stats.ts";

/** The Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Upper bounds of the latency histogram buckets, in seconds (`+Inf` is implicit). */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
];

/** A cumulative histogram of durations, fed in milliseconds, exposed in seconds. */
export class LatencyHistogram {
  /** Per-bucket counts (not cumulative); the last slot is `+Inf`. */
  readonly #counts = new Float64Array(LATENCY_BUCKETS_S.length + 1);
  #sumS = 0;
  #count = 0;

  /** Adds one observation. */
  observe(ms: number): void {
    const s = Math.max(0, ms) / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS_S.length && s > LATENCY_BUCKETS_S[i]!) i++;
    this.#counts[i]!++;
    this.#sumS += s;
    this.#count++;
  }

  /** The exposition lines of this histogram under `name`, with `labels` on every line. */
  lines(name: string, labels: string): string[] {
    const out: string[] = [];
    let cumulative = 0;
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++) {
      cumulative += this.#counts[i]!;
      out.push(`${name}_bucket{${labels},le="${LATENCY_BUCKETS_S[i]}"} ${cumulative}`);
    }
    out.push(`${name}_bucket{${labels},le="+Inf"} ${this.#count}`);
    out.push(`${name}_sum{${labels}} ${this.#sumS}`);
    out.push(`${name}_count{${labels}} ${this.#count}`);
    return out;
  }
}

/** Wait and run histograms fed by a pool's `taskend` events. */
export class TaskHistograms {
  readonly wait = new LatencyHistogram();
  readonly run = new LatencyHistogram();

  /**
   * The `taskend` listener. Only tasks that ran to their end count: a stopped one's times
   * say when it was stopped, not how long tasks wait or run (the cancelled counter has it).
   */
  readonly onTaskEnd = (event: Event): void => {
    const detail = (event as CustomEvent<TaskEndDetail>).detail;
    if (detail.cancelled) return;
    this.wait.observe(detail.waitMs);
    if (detail.workerId >= 0) this.run.observe(detail.runMs);
  };
}

/** Escapes a label value as the exposition format asks. */
export function labelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Renders a snapshot (and the histograms, when fed) as exposition text. */
export function renderMetrics(stats: PoolStats, histograms: TaskHistograms): string {
  const pool = `pool="${labelValue(stats.name)}"`;
  const lines: string[] = [];
  const metric: Metric = (name, type, help, samples) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}{${labels}} ${number(value)}`);
  };
  const busy = stats.workers.filter((w) => w.state === "busy").length;

  metric(
    "seed_pool_tasks_completed_total",
    "counter",
    "Items (calls of the task function) that finished successfully.",
    [[pool, stats.completed]],
  );
  metric("seed_pool_tasks_failed_total", "counter", "Items that failed.", [[pool, stats.failed]]);
  metric(
    "seed_pool_tasks_cancelled_total",
    "counter",
    "Items stopped before they finished (timeout, signal, terminate, a failure in their call).",
    [[pool, stats.cancelled]],
  );
  metric("seed_pool_queue_depth", "gauge", "Tasks accepted and not started.", [
    [pool, stats.queued],
  ]);
  metric("seed_pool_tasks_running", "gauge", "Tasks running on a worker.", [
    [pool, stats.running],
  ]);
  metric("seed_pool_size", "gauge", "The pool's configured number of workers.", [
    [pool, stats.size],
  ]);
  metric("seed_pool_workers", "gauge", "Workers alive now.", [[pool, stats.workers.length]]);
  metric("seed_pool_workers_busy", "gauge", "Workers running a task now.", [[pool, busy]]);
  metric(
    "seed_pool_utilization",
    "gauge",
    "Share of the pool's capacity busy over the recent window (0..1).",
    [[pool, stats.utilization]],
  );
  metric(
    "seed_pool_worker_utilization",
    "gauge",
    "Share of the recent window a worker spent running tasks (0..1).",
    stats.workers.map((w) => [workerLabels(pool, w), w.utilization]),
  );
  metric(
    "seed_pool_throughput_tasks_per_second",
    "gauge",
    "Tasks finished per second over the recent window.",
    [[pool, stats.throughput]],
  );
  metric("seed_pool_uptime_seconds", "gauge", "Time since the pool was created.", [
    [pool, stats.uptimeMs / 1000],
  ]);
  if (stats.hosts) hostMetrics(metric, pool, stats.hosts);
  for (
    const [name, histogram, help] of [
      ["seed_pool_task_wait_seconds", histograms.wait, "Time tasks waited in the queue."],
      ["seed_pool_task_run_seconds", histograms.run, "Time tasks ran on a worker."],
    ] as const
  ) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    lines.push(...histogram.lines(name, pool));
  }
  return lines.join("\n") + "\n";
}

/** The labels of a worker's series: its pool, id, and host for a cluster pool's worker. */
function workerLabels(pool: string, worker: WorkerStats): string {
  const host = worker.host === undefined ? "" : `,host="${labelValue(worker.host)}"`;
  return `${pool}${host},worker="${worker.id}"`;
}

type Metric = (
  name: string,
  type: "counter" | "gauge",
  help: string,
  samples: [labels: string, value: number][],
) => void;

/**
 * The series of a cluster pool's hosts, one sample per host (a host that left keeps its
 * series, `seed_pool_host_up` 0, until the pool forgets it).
 */
function hostMetrics(metric: Metric, pool: string, hosts: readonly HostStats[]): void {
  const each = (value: (host: HostStats) => number): [string, number][] =>
    hosts.map((host) => [`${pool},host="${labelValue(host.name)}"`, value(host)]);
  metric(
    "seed_pool_host_up",
    "gauge",
    "Whether a worker host is joined (1) or has left (0).",
    each((host) => host.state === "joined" ? 1 : 0),
  );
  metric(
    "seed_pool_host_workers",
    "gauge",
    "Workers a host lends to the cluster.",
    each((host) => host.workers),
  );
  metric(
    "seed_pool_host_busy",
    "gauge",
    "Tasks a host runs now, of any client.",
    each((host) => host.busy),
  );
  metric(
    "seed_pool_host_tasks_completed_total",
    "counter",
    "Items of this pool that finished successfully on a host.",
    each((host) => host.completed),
  );
  metric(
    "seed_pool_host_tasks_failed_total",
    "counter",
    "Items of this pool that failed on a host.",
    each((host) => host.failed),
  );
  metric(
    "seed_pool_host_throughput_tasks_per_second",
    "gauge",
    "Items of this pool a host finished per second over the recent window.",
    each((host) => host.throughput),
  );
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
