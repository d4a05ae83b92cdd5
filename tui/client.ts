/**
 * Follows a monitor's `/events` stream (served by `serveMonitor`) with plain `fetch`, turns
 * its Server-Sent Events into dashboard actions, and reconnects with backoff when the
 * connection drops.
 *
 * @module
 */

import type { MonitorMessage } from "../monitor.ts";
import type { DashboardAction } from "./model.ts";
import { sleep } from "./_sleep.ts";

/** Options of `followMonitor`. */
export interface FollowOptions {
  /** Stops following (and ends the open request). */
  signal: AbortSignal;
  /** Sent as `Authorization: Bearer <token>`; a `?token=` in the URL works too. */
  token?: string;
  /** First retry delay, ms; doubles on each failure up to `maxBackoffMs`. Default 500. */
  minBackoffMs?: number;
  /** Longest retry delay, ms. Default 5000. */
  maxBackoffMs?: number;
}

/**
 * The `/events` URL of a monitor given by its base URL (or by the events URL itself).
 *
 * @example
 * ```ts
 * import { eventsUrl } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(eventsUrl("http://127.0.0.1:8080").href, "http://127.0.0.1:8080/events");
 * ```
 */
export function eventsUrl(monitorUrl: string): URL {
  const url = new URL(monitorUrl);
  if (!url.pathname.endsWith("/events")) {
    url.pathname = url.pathname.replace(/\/?$/, "/") + "events";
  }
  return url;
}

/**
 * Follows a monitor until `signal` aborts: dispatches a `connection` action on every change
 * (connecting, connected, disconnected with the time of the next attempt), and each
 * snapshot and event batch as it arrives. Resolves once aborted; never rejects.
 *
 * @param monitorUrl The monitor's base URL, e.g. `http://127.0.0.1:8080/`.
 * @param dispatch Receives the actions, in order.
 * @param options The abort signal, token and backoff.
 *
 * @example
 * ```ts ignore
 * import { followMonitor } from "./client.ts";
 * const stop = new AbortController();
 * followMonitor("http://127.0.0.1:8080/", console.log, { signal: stop.signal });
 * ```
 */
export async function followMonitor(
  monitorUrl: string,
  dispatch: (action: DashboardAction) => void,
  options: FollowOptions,
): Promise<void> {
  const { signal, token, minBackoffMs = 500, maxBackoffMs = 5000 } = options;
  const url = eventsUrl(monitorUrl);
  const source = monitorUrl;
  let backoff = minBackoffMs;

  while (!signal.aborted) {
    dispatch({ type: "connection", connection: { status: "connecting", source } });
    let reason: string;
    try {
      const response = await fetch(url, {
        signal,
        headers: {
          accept: "text/event-stream",
          ...(token !== undefined && { authorization: `Bearer ${token}` }),
        },
      });
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        reason = `HTTP ${response.status} ${response.statusText}`.trim();
      } else {
        let connected = false;
        for await (const message of readEvents(response.body)) {
          if (!connected) {
            connected = true;
            backoff = minBackoffMs;
            dispatch({ type: "connection", connection: { status: "connected", source } });
          }
          dispatch(message);
        }
        reason = "the monitor closed the stream";
      }
    } catch (error) {
      if (signal.aborted) break;
      reason = connectFailure(error, url);
    }
    if (signal.aborted) break;
    dispatch({
      type: "connection",
      connection: {
        status: "disconnected",
        source,
        message: reason,
        retryAt: Date.now() + backoff,
      },
    });
    await sleep(backoff, signal);
    backoff = Math.min(maxBackoffMs, backoff * 2);
  }
}

/**
 * Why a request to a monitor failed, in a few words: `fetch` says only "fetch failed"; the
 * reason is in its cause (Deno 2.9: "… tcp connect error: Connection refused (os error 111)").
 *
 * @example
 * ```ts
 * import { connectFailure } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const refused = new TypeError("fetch failed", {
 *   cause: new Error("client error (Connect): tcp connect error: Connection refused (os error 111)"),
 * });
 * assert.equal(
 *   connectFailure(refused, new URL("http://127.0.0.1:9/events")),
 *   "connection refused at http://127.0.0.1:9/ (is the monitor running?)",
 * );
 * ```
 */
export function connectFailure(error: unknown, url: URL): string {
  const messages: string[] = [];
  for (let at: unknown = error; at instanceof Error && messages.length < 5; at = at.cause) {
    messages.push(at.message);
  }
  const text = messages.join(": ");
  const base = new URL("/", url).href;
  if (/connection refused/i.test(text)) {
    return `connection refused at ${base} (is the monitor running?)`;
  }
  if (/dns error|failed to lookup|name or service not known|no such host/i.test(text)) {
    return `cannot find the host ${url.hostname}`;
  }
  if (/timed out/i.test(text)) return `timed out connecting to ${base}`;
  if (/connection reset|broken pipe/i.test(text)) return `the connection to ${base} was reset`;
  const innermost = messages.at(-1) ?? String(error);
  return `cannot connect to ${base}: ${innermost}`;
}

/**
 * Parses a Server-Sent Events body into monitor messages (`snapshot` and `events`); other
 * event types and comments are skipped.
 *
 * @example
 * ```ts
 * import { readEvents } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const sse = ": a comment\n\nevent: events\ndata: {\"events\": []}\n\nevent: other\ndata: 1\n\n";
 * const body = new Response(sse).body!;
 * const types: string[] = [];
 * for await (const message of readEvents(body)) types.push(message.type);
 * assert.deepEqual(types, ["events"]);
 * ```
 */
export async function* readEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<MonitorMessage> {
  let buffer = "";
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = parseBlock(block);
        if (message) yield message;
      }
    }
  } finally {
    // Ends the request when the consumer stops early or the stream fails.
    await reader.cancel().catch(() => {});
  }
}

function parseBlock(block: string): MonitorMessage | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  const payload = JSON.parse(data.join("\n"));
  if (event === "snapshot") return { type: "snapshot", stats: payload };
  if (event === "events") {
    return { type: "events", events: payload.events ?? [], truncated: payload.truncated ?? [] };
  }
  return undefined;
}
