/**
 * The Web Worker entry of a pool worker. It installs its message handler before anything
 * else, so no message of the pool is missed, and turns every way a worker can die on its
 * own (an uncaught error, an unhandled rejection, `self.close()`, `Deno.exit()`) into a
 * `crash` message first, so the pool fails exactly the task that was running.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { createRuntime, interceptDeaths } from "./runtime.ts";
import { HEARTBEAT_MS, HEARTBEAT_SLOT, IN_TASK_SLOT, type ToWorker } from "../src/wire/protocol.ts";

const realClose = self.close.bind(self);

const runtime = createRuntime({
  post: (message) => self.postMessage(message),
  close: realClose,
});

// The first message is the memory shared with the transport (see SHARED_BYTES); then
// every message is the pool's. Swapped, so later messages pay no test for it.
self.onmessage = (event: MessageEvent<SharedArrayBuffer>) => {
  runtime.markTasksIn(new Int32Array(event.data, 4 * IN_TASK_SLOT, 1));
  const heartbeat = new Float64Array(event.data, 8 * HEARTBEAT_SLOT, 1);
  heartbeat[0] = Date.now();
  Deno.unrefTimer(setInterval(() => heartbeat[0] = Date.now(), HEARTBEAT_MS));
  // Each message is handled from a microtask, still in this turn of the event loop, not
  // inside the event's dispatch: a task then runs on a shallow stack, and an error it throws
  // captures the task's own frames instead of the six frames of the dispatch beneath it.
  // Deno formats a stack at ~7 µs a frame, so that halves what a failing task costs.
  self.onmessage = (event: MessageEvent<ToWorker>) => {
    const message = event.data;
    queueMicrotask(() => runtime.receive(message));
  };
};

interceptDeaths(runtime, "self.close");
