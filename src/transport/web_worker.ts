/**
 * The Web Worker transport: a worker thread per worker, with the permissions of its lane.
 *
 * @module
 */

import { entryWithModules } from "./_task_modules.ts";
import { PermissionError } from "../core/errors.ts";
import {
  type FromWorker,
  HEARTBEAT_MS,
  HEARTBEAT_SLOT,
  IN_TASK_SLOT,
  SHARED_BYTES,
} from "../wire/protocol.ts";
import type { Transport, TransportFactory, TransportOptions } from "./transport.ts";

const WORKER_URL = new URL("../../workers/worker.ts", import.meta.url);

/**
 * How long a stopped worker may go on running synchronous code before the pool says that
 * it is stuck, ms.
 */
export const STUCK_MS = 1000;

/** The warning a pool gives (once) when a Web Worker it stopped is stuck. */
export const STUCK_WORKER_WARNING =
  `seed pool: a Web Worker that the pool stopped (a task's timeout or signal, or ` +
  `terminate()) is still running synchronous code, which Deno cannot interrupt: this ` +
  `program cannot exit until that code returns, never if it is a runaway loop. Run such ` +
  `tasks with isolation: "process", whose workers are killed for real. (Said once per pool.)`;

/**
 * Throws one `PermissionError` when this process may not read the Web Worker entry (a
 * checkout or a local copy of the library run without `--allow-read`): Deno would fail
 * each worker with its own uncaught "Requires read access" and a long stack. In a terminal
 * the user is asked once, as Deno would have asked for each worker. A library loaded by
 * URL (from a registry) needs no read access for it.
 *
 * @throws {PermissionError} naming `--allow-read` and the worker script.
 */
export function assertWorkerEntryReadable(): void {
  if (WORKER_URL.protocol !== "file:") return;
  const path = decodeURIComponent(WORKER_URL.pathname);
  const descriptor = { name: "read", path } as const;
  let state = Deno.permissions.querySync(descriptor).state;
  if (state === "prompt" && Deno.stdin.isTerminal()) {
    state = Deno.permissions.requestSync(descriptor).state;
  }
  if (state === "granted") return;
  const library = decodeURIComponent(new URL("..", WORKER_URL).pathname).replace(/\/$/, "");
  throw new PermissionError(
    `Cannot start worker threads as this process may not read the pool's worker script ` +
      `${path}: run Deno with --allow-read (or at least --allow-read=${library}), or use ` +
      `isolation: "process"`,
  );
}

/**
 * A Web Worker thread. Permissions are passed only when a set other than the default was
 * asked, since Deno exits the process (code 70) on any `deno.permissions` option without
 * `--unstable-worker-options`, even `"inherit"`.
 *
 * Deno checks a worker's start-up graph against the *parent's* permissions, but a dynamic
 * `import()` inside the worker against the worker's own: a worker with no read permission
 * cannot `import()` a local task module at run time. So a scoped worker starts from an entry
 * that names every known task module in a literal `import()` (never called, so nothing runs
 * early); the runtime's later import of the same URL is then allowed. The task's code still
 * runs with only the worker's permissions.
 *
 * `Worker.terminate()` does not stop a thread stuck in synchronous code (Deno 2.9), which
 * then keeps the program from exiting. So each worker shares a little memory with its
 * transport (see protocol's SHARED_BYTES): whether it runs tasks synchronously, and when
 * its event loop last turned. A worker stopped while its event loop had been blocked for
 * {@link STUCK_MS} already, or that still runs tasks synchronously {@link STUCK_MS} after it
 * was stopped, is stuck: the pool says so on stderr, once, naming the fix.
 */
export function webWorkerTransports(): TransportFactory {
  let warned = false;
  const onStuck = () => {
    if (warned) return;
    warned = true;
    console.error(STUCK_WORKER_WARNING);
  };
  return (options) =>
    startWebWorker(entryWithModules(WORKER_URL.href, options.modules), options, onStuck);
}

function startWebWorker(
  entry: string | URL,
  { workerId, permissions, listener }: TransportOptions,
  onStuck: () => void,
): Transport {
  const options: WorkerOptions & { deno?: { permissions: unknown } } = {
    type: "module",
    name: `seed-pool-worker-${workerId}`,
  };
  if (permissions !== undefined) {
    options.deno = { permissions: permissions as Deno.PermissionOptions };
  }
  const worker = new Worker(entry, options);
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const inTask = new Int32Array(shared, 4 * IN_TASK_SLOT, 1);
  const heartbeat = new Float64Array(shared, 8 * HEARTBEAT_SLOT, 1);
  worker.postMessage(shared); // first, before any message of the pool
  let ended = false;
  worker.onmessage = (event: MessageEvent<FromWorker>) => listener.message(event.data);
  worker.onerror = (event: ErrorEvent) => {
    // Handled here, so the parent does not die with its worker.
    event.preventDefault();
    if (ended) return;
    ended = true;
    worker.terminate();
    listener.exit(event.error ?? new Error(event.message));
  };
  worker.onmessageerror = () => {
    if (ended) return;
    ended = true;
    worker.terminate();
    listener.exit(new Error("The worker sent a message that could not be deserialized"));
  };
  return {
    send(message, transfer) {
      // No empty transfer list: converting one costs a little on every lone call.
      if (transfer) worker.postMessage(message, transfer);
      else worker.postMessage(message);
    },
    terminate() {
      const wasEnded = ended;
      ended = true;
      worker.terminate();
      // A worker that ended on its own (crashed, closed) is not stuck.
      if (!wasEnded) watchStopped(inTask, heartbeat, onStuck);
      return Promise.resolve();
    },
  };
}

/** Calls `onStuck` if a stopped worker turns out stuck (see {@link webWorkerTransports}). */
function watchStopped(inTask: Int32Array, heartbeat: Float64Array, onStuck: () => void): void {
  const lastBeat = heartbeat[0]!;
  if (lastBeat !== 0 && Date.now() - lastBeat > HEARTBEAT_MS + STUCK_MS) {
    onStuck(); // its event loop was blocked already: nothing will unblock it now
    return;
  }
  if (Atomics.load(inTask, 0) !== 1) return; // idle, or waiting: it stops at once
  // Unref'd: a worker that does return lets the program exit before this fires.
  Deno.unrefTimer(setTimeout(() => {
    if (Atomics.load(inTask, 0) === 1) onStuck();
  }, STUCK_MS));
}
