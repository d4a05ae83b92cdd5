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

self.onmessage = (event: MessageEvent<ToWorker>) => runtime.receive(event.data);

interceptDeaths(runtime, "self.close");
