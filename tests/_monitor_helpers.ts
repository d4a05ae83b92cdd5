/**
 * Shared helpers of the monitor and dashboard tests: a pool stand-in that counts its
 * listeners, a Server-Sent Events reader, and polling with a deadline.
 *
 * @module
 */

import type { PoolEventMap, PoolEventType } from "../mod.ts";
import type { HostStats, PoolStats, WorkerStats } from "../mod.ts";

/** `T` without the falsy values `eventually` skips. */
export type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** A pool stand-in: fixed stats, events on demand, and a count of attached listeners. */
export class FakePool extends EventTarget {
  listeners = 0;
  snapshot: PoolStats = fakeStats();

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    this.listeners++;
    super.addEventListener(type, listener, options);
  }

  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    this.listeners--;
    super.removeEventListener(type, listener, options);
  }

  stats(): PoolStats {
    return this.snapshot;
  }

  emit<K extends PoolEventType>(type: K, detail: PoolEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** A worker row of `stats()`: idle, of the inherited set, unless `overrides` say otherwise. */
export function fakeWorker(overrides: Partial<WorkerStats> = {}): WorkerStats {
  return {
    id: 1,
    state: "idle",
    permissions: "inherit",
    isolation: "worker",
    tasksCompleted: 0,
    tasksFailed: 0,
    busyMs: 0,
    utilization: 0,
    currentTask: null,
    ...overrides,
  };
}

/** A plausible snapshot, with `overrides`. */
export function fakeStats(overrides: Partial<PoolStats> = {}): PoolStats {
  return {
    name: "fake",
    size: 2,
    isolation: "worker",
    state: "running",
    workers: [],
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    throughput: 0,
    utilization: 0,
    latency: { waitMs: { p50: 0, p95: 0, p99: 0 }, runMs: { p50: 0, p95: 0, p99: 0 } },
    uptimeMs: 1000,
    time: 1_700_000_000_000,
    ...overrides,
  };
}

/**
 * A cluster pool's snapshot as its `stats()` gives it: hosts `alpha` (2 workers, one busy)
 * and `beta` (1 worker) joined, `gamma` left; each worker named by its host.
 */
export function clusterStats(overrides: Partial<PoolStats> = {}): PoolStats {
  const time = overrides.time ?? 1_700_000_000_000;
  const host = (name: string, rest: Partial<HostStats>): HostStats => ({
    name,
    state: "joined",
    workers: 2,
    busy: 0,
    completed: 0,
    failed: 0,
    throughput: 0,
    joinedAt: time - 90_000,
    lastSeen: time - 200,
    ...rest,
  });
  const worker = (id: number, on: string, rest: Partial<WorkerStats> = {}): WorkerStats =>
    fakeWorker({ id, permissions: "none", host: on, ...rest });
  return fakeStats({
    name: "jobs",
    size: 3,
    workers: [
      worker(0, "alpha", { state: "busy", currentTask: "square", utilization: 0.9 }),
      worker(1, "alpha", { tasksCompleted: 40 }),
      worker(1024, "beta", { tasksCompleted: 12, tasksFailed: 1, utilization: 0.25 }),
    ],
    hosts: [
      host("alpha", { busy: 1, completed: 1200, failed: 3, throughput: 41.5 }),
      host("beta", { workers: 1, completed: 310, failed: 1, throughput: 9.75 }),
      host("gamma", {
        state: "left",
        workers: 4,
        completed: 870,
        failed: 0,
        joinedAt: time - 300_000,
        lastSeen: time - 12_000,
      }),
    ],
    completed: 2380,
    failed: 4,
    throughput: 51.25,
    time,
    ...overrides,
  });
}

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Reads a `text/event-stream` body one event at a time. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event with data, or null when the stream ended. */
  async next(): Promise<SseEvent | null> {
    while (true) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data.push(line.slice(6));
        }
        if (data.length > 0) return { event, data: data.join("\n") };
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += value;
    }
  }

  /** Reads events until `match` accepts one; null when the stream ends first. */
  async until(match: (event: SseEvent) => boolean): Promise<SseEvent | null> {
    while (true) {
      const event = await this.next();
      if (event === null || match(event)) return event;
    }
  }

  /** Stops reading and ends the request. */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }
}
