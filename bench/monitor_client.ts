/**
 * The bench's side of the monitor: `serveMonitor` loaded only if `monitor.ts` exists (the
 * bench runs without it), and an SSE client that reads `/events` as fast as it comes.
 *
 * @module
 */

import type { Pool } from "../mod.ts";

const MONITOR_URL = new URL("../monitor.ts", import.meta.url);

/** What `serveMonitor` returns. */
export interface MonitorHandle {
  readonly url: string | URL;
  close(): Promise<void> | void;
}

/** Serves `pool` with `serveMonitor` from `../monitor.ts`; throws a clear error without it. */
export async function serveMonitorOf(pool: Pool): Promise<MonitorHandle> {
  let module: { serveMonitor?: unknown };
  try {
    // A computed specifier, so that type checking the bench does not need monitor.ts.
    module = await import(MONITOR_URL.href);
  } catch (error) {
    throw new Error(`monitor.ts cannot be loaded (${(error as Error).message.split("\n")[0]})`);
  }
  if (typeof module.serveMonitor !== "function") {
    throw new Error("monitor.ts does not export serveMonitor");
  }
  const serve = module.serveMonitor as (pool: Pool) => MonitorHandle | Promise<MonitorHandle>;
  return await serve(pool);
}

/** An SSE connection being read in the background. */
export interface SseReader {
  /** Bytes received so far. */
  readonly bytes: number;
  /** Stops reading and closes the connection. */
  cancel(): Promise<void>;
}

/** Connects to `<base>/events` and reads everything it sends, counting bytes. */
export async function readEvents(base: string | URL): Promise<SseReader> {
  const text = String(base);
  const url = new URL("events", text.endsWith("/") ? text : `${text}/`);
  const response = await fetch(url, { headers: { accept: "text/event-stream" } });
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  const reader = response.body.getReader();
  const state = { bytes: 0 };
  const reading = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        state.bytes += value.byteLength;
      }
    } catch {
      // cancelled, or the server went away: either way reading is over
    }
  })();
  return {
    get bytes() {
      return state.bytes;
    },
    async cancel() {
      await reader.cancel().catch(() => {});
      await reading;
    },
  };
}
