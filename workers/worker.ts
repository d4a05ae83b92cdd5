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
import type { ToWorker } from "../src/protocol.ts";

const realClose = self.close.bind(self);

const runtime = createRuntime({
  post: (message) => self.postMessage(message),
  close: realClose,
});

// Each message is handled from a microtask, still in this turn of the event loop, not inside
// the event's dispatch: a task then runs on a shallow stack, and an error it throws captures
// the task's own frames instead of the six frames of the dispatch beneath it. Deno formats a
// stack at ~7 µs a frame, so that halves what a failing task costs.
self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  queueMicrotask(() => runtime.receive(message));
};

interceptDeaths(runtime, "self.close");
