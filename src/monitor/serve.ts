/**
 * `serveMonitor`: a small HTTP server that lets other processes watch a pool — `/stats`
 * (JSON), `/events` (Server-Sent Events) and `/metrics` (Prometheus). Built on `Deno.serve`
 * alone; no third-party code.
 *
 * @module
 */

import { PROMETHEUS_CONTENT_TYPE, renderMetrics, TaskHistograms } from "./_prometheus.ts";
import {
  checkMonitoredPool,
  checkWatchOptions,
  type MonitoredPool,
  type MonitorMessage,
  type PoolWatch,
  watchPool,
} from "./watch.ts";

/** Options of `serveMonitor`. */
export interface MonitorOptions {
  /** The address to bind. Default `"127.0.0.1"`; any non-loopback address needs `token`. */
  hostname?: string;
  /** The port; 0 (the default) picks a free one (read it from `url`). */
  port?: number;
  /**
   * A secret every request must carry, as `Authorization: Bearer <token>` or `?token=<token>`;
   * others get 401. Required when `hostname` is not a loopback address.
   */
  token?: string;
  /** How often `/events` sends a snapshot, ms. Default 1000. */
  snapshotIntervalMs?: number;
  /** How long `/events` gathers pool events into one batch, ms. Default 100. */
  batchMs?: number;
}

/** A running monitor. */
export interface Monitor extends AsyncDisposable {
  /** The server's base URL, e.g. `http://127.0.0.1:43117/`. */
  readonly url: string;
  /** Ends open `/events` streams, stops listening to the pool and shuts the server down. */
  close(): Promise<void>;
}

/** Most chunks a slow `/events` client may have unread before batches are skipped for it. */
const SKIP_EVENTS_BACKLOG = 64;
/** Most chunks a stalled `/events` client may have unread before it is disconnected. */
const DISCONNECT_BACKLOG = 512;

/**
 * Serves a pool's live state over HTTP:
 *
 * - `GET /stats` — `pool.stats()` as JSON.
 * - `GET /events` — Server-Sent Events: an `event: snapshot` at once (data: the stats), then
 *   `event: events` batches (data: `{ events: [{ type, detail }…], truncated }`) and periodic
 *   snapshots. The monitor listens to the pool only while a client is connected, and
 *   samples a busy pool rather than following every task (see `watchPool`).
 * - `GET /metrics` — Prometheus text exposition: task counters, queue depth, busy workers,
 *   utilization, and wait/run histograms (fed from the first scrape on), labelled
 *   `pool="<name>"`; for a cluster pool also per-host series (`seed_pool_host_up`,
 *   `_workers`, `_busy`, `_tasks_completed_total`, …) labelled `host="<name>"`, and a
 *   `host` label on each worker's series.
 *
 * @param pool The pool to watch (a `Pool`, or anything with `stats()` that dispatches its
 * events).
 * @param options Where to bind, the token, and the stream's intervals.
 * @returns The monitor: its `url`, and `close()`.
 * @throws {TypeError} when `hostname` is not a loopback address and no `token` is given,
 * for a `pool` that is not one, or an option of the wrong type.
 * @throws {RangeError} for a `port` or an interval out of range (see `watchPool`).
 *
 * @example Read a pool's stats over HTTP
 * ```ts
 * import { Pool } from "@seed/pool";
 * import { serveMonitor } from "@seed/pool/monitor";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, name: "example" });
 * await using monitor = serveMonitor(pool);
 * const stats = await (await fetch(new URL("/stats", monitor.url))).json();
 * assert.equal(stats.name, "example");
 * ```
 */
export function serveMonitor(pool: MonitoredPool, options: MonitorOptions = {}): Monitor {
  checkMonitoredPool(pool, "serve monitor");
  // Checked now, not when the first client connects to /events.
  checkWatchOptions(options, "serve monitor");
  const { hostname = "127.0.0.1", port = 0, token } = options;
  if (typeof hostname !== "string") {
    throw new TypeError(
      `Cannot serve monitor as 'hostname' must be a string: current value is ${typeof hostname}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new (typeof port === "number" ? RangeError : TypeError)(
      `Cannot serve monitor as 'port' must be an integer from 0 to 65535: current value is ` +
        (typeof port === "number" ? port : typeof port),
    );
  }
  if (token !== undefined && typeof token !== "string") {
    throw new TypeError(
      `Cannot serve monitor as 'token' must be a string: current value is ${typeof token}`,
    );
  }
  if (!isLoopback(hostname) && (token === undefined || token === "")) {
    throw new TypeError(
      `Cannot serve monitor on '${hostname}' as it is not a loopback address and no 'token' ` +
        `was given: pass { token } (clients send it as "Authorization: Bearer <token>")`,
    );
  }
  const watchOptions = {
    ...(options.snapshotIntervalMs !== undefined &&
      { snapshotIntervalMs: options.snapshotIntervalMs }),
    ...(options.batchMs !== undefined && { batchMs: options.batchMs }),
  };

  const streams = new EventStreams(pool, watchOptions);
  let histograms: TaskHistograms | undefined;
  let closing: Promise<void> | undefined;

  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    if (token !== undefined && !authorized(request, url, token)) {
      return new Response("Unauthorized\n", {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="seed pool monitor"' },
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET" } });
    }
    switch (url.pathname) {
      case "/stats":
        return Response.json(pool.stats(), { headers: { "cache-control": "no-store" } });
      case "/events":
        if (closing) return new Response("Service Unavailable\n", { status: 503 });
        return streams.open();
      case "/metrics":
        // Histograms need every task's latency, so they start listening at the first scrape:
        // a monitor nobody scrapes adds nothing to the pool's hot path.
        if (!histograms) {
          histograms = new TaskHistograms();
          pool.addEventListener("taskend", histograms.onTaskEnd);
        }
        return new Response(renderMetrics(pool.stats(), histograms), {
          headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
        });
      case "/":
        return Response.json({ stats: "/stats", events: "/events", metrics: "/metrics" });
      default:
        return new Response("Not Found\n", { status: 404 });
    }
  };

  const server = Deno.serve({ hostname, port, onListen: () => {} }, handler);
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  const url = `http://${host}:${server.addr.port}/`;

  const close = () => {
    closing ??= (async () => {
      // Open event streams would keep shutdown() waiting forever: end them first.
      streams.closeAll();
      if (histograms) pool.removeEventListener("taskend", histograms.onTaskEnd);
      await server.shutdown();
    })();
    return closing;
  };
  return { url, close, [Symbol.asyncDispose]: close };
}

/** The open `/events` streams, sharing one watch of the pool while there is at least one. */
class EventStreams {
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  readonly #encoder = new TextEncoder();
  #watch: PoolWatch | undefined;

  constructor(
    readonly pool: MonitoredPool,
    readonly watchOptions: { snapshotIntervalMs?: number; batchMs?: number },
  ) {}

  open(): Response {
    let client: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = controller;
        // A client that reconnects should do so quickly; the snapshot gives it a full picture.
        controller.enqueue(this.#encoder.encode("retry: 1000\n\n"));
        controller.enqueue(this.#frame({ type: "snapshot", stats: this.pool.stats() }));
        this.#clients.add(controller);
        // The first client starts the watch (its opening snapshot is already sent above).
        if (!this.#watch) {
          let first = true;
          this.#watch = watchPool(this.pool, (message) => {
            if (first && message.type === "snapshot") {
              first = false;
              return;
            }
            this.#broadcast(message);
          }, this.watchOptions);
        }
      },
      cancel: () => this.#remove(client),
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  closeAll(): void {
    for (const client of [...this.#clients]) {
      this.#remove(client);
      try {
        client.close();
      } catch {
        // Already closed by the client going away.
      }
    }
  }

  #remove(client: ReadableStreamDefaultController<Uint8Array>): void {
    this.#clients.delete(client);
    if (this.#clients.size === 0) {
      this.#watch?.stop();
      this.#watch = undefined;
    }
  }

  #broadcast(message: MonitorMessage): void {
    // Encoded once, whatever the number of clients.
    const frame = this.#frame(message);
    for (const client of [...this.#clients]) {
      const backlog = -(client.desiredSize ?? 0);
      if (backlog > DISCONNECT_BACKLOG) {
        this.#remove(client);
        client.error(new Error("monitor client too slow"));
        continue;
      }
      // A client that falls behind keeps getting snapshots (they carry the totals) but not
      // event batches, so its backlog stops growing.
      if (message.type === "events" && backlog > SKIP_EVENTS_BACKLOG) continue;
      try {
        client.enqueue(frame);
      } catch {
        this.#remove(client);
      }
    }
  }

  #frame(message: MonitorMessage): Uint8Array {
    const data = message.type === "snapshot"
      ? JSON.stringify(message.stats)
      : JSON.stringify({ events: message.events, truncated: message.truncated });
    return this.#encoder.encode(`event: ${message.type}\ndata: ${data}\n\n`);
  }
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || bare === "0:0:0:0:0:0:0:1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function authorized(request: Request, url: URL, token: string): boolean {
  const header = request.headers.get("authorization");
  const bearer = header?.match(/^Bearer\s+(.+)$/i)?.[1];
  const given = bearer ?? url.searchParams.get("token");
  return given !== null && sameSecret(given, token);
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
