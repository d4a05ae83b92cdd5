/**
 * The worker side of the protocol, independent of how messages travel (a Web Worker's
 * `postMessage`, or a subprocess's stdio). It keeps a local queue of the tasks it was sent,
 * runs them one at a time in order, and sends outcomes back in batches.
 *
 * @module
 */

import { reasonOf, type TaskFailure, toThrownData } from "../src/wire/thrown.ts";
import { Fifo } from "../src/util/_fifo.ts";
import { type Owners, trackTimerOwners } from "./_timers.ts";
import {
  call,
  describeFailure,
  initializerFailure,
  PROMISE_THEN,
  type Then,
  thenOf,
} from "./_calling.ts";
import { compileInline, failure, type Loaded, loadModule } from "./_loading.ts";
import { Outbox, splitResults } from "./_outbox.ts";
import {
  CALL_MODES,
  type FromWorker,
  type FunctionDefinition,
  isLoneTask,
  type ToWorker,
  type WireTask,
} from "../src/wire/protocol.ts";

/** How the runtime talks to the pool. */
export interface RuntimePort {
  /** Sends a message; throws (DataCloneError) when something in it cannot be cloned. */
  post(message: FromWorker): void;
  /** Ends this worker for good. */
  close(): void;
}

/** Results are sent at the latest this long after the first one waiting, while a batch runs. */
const FLUSH_MS = 4;

const TIME_ORIGIN = performance.timeOrigin;

/**
 * Turns every way a worker can die on its own — an uncaught error, an unhandled rejection,
 * `close()`, `Deno.exit()` — into `runtime.crash` first, so the pool fails exactly the task
 * that was running (and, for the last two, learns why); and has timers carry the task that
 * set them, so a leftover of a finished task is told apart (see ./_timers.ts).
 */
export function interceptDeaths(
  runtime: { crash(thrown: unknown): void; readonly owners: Owners<WireTask> },
  closeName: string,
): void {
  trackTimerOwners(runtime.owners);
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    runtime.crash(event.error ?? new Error(event.message));
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    runtime.crash(event.reason);
  });
  (globalThis as { close?: () => void }).close = () => {
    runtime.crash(new Error(`The task called ${closeName}()`));
  };
  Deno.exit = ((code?: number) => {
    runtime.crash(new Error(`The task called Deno.exit(${code ?? ""})`));
    // Deno.exit never returns; stop the task here as the real one would.
    throw new Error("Worker exited");
  }) as typeof Deno.exit;
}

/** Creates the runtime; feed it every message from the pool with `receive`. */
export function createRuntime(port: RuntimePort): {
  receive(message: ToWorker): void;
  /** Ends the worker; `owner` is the task that scheduled the code that threw, if known. */
  crash(thrown: unknown, owner?: WireTask | null): void;
  readonly owners: Owners<WireTask>;
  /** Marks slot 0 of `flags` while tasks run synchronously (see protocol's IN_TASK_SLOT). */
  markTasksIn(flags: Int32Array): void;
} {
  const functions = new Map<number, Promise<Loaded | TaskFailure>>();
  const loadedById = new Map<number, Loaded | TaskFailure>();
  const moduleCache = new Map<string, Promise<Record<string, unknown>>>();
  // Fifos keep their storage when they empty, so a lone task allocates no queue each time.
  const queue = new Fifo<WireTask>();
  /** Tasks ever received, and ever taken from the queue (run or skipped as cancelled). */
  let received = 0;
  let taken = 0;
  const cancelled = new Set<number>();
  // Where each `run` message's tasks end in the queue: results go back as each batch ends,
  // so the pool can send the next batch while this worker runs the one after.
  const batchEnds = new Fifo<number>();
  const outbox = new Outbox();
  let running = false;
  let closed = false;
  /** Start of the task being run, performance.now() ms. */
  let t0 = 0;
  let init: Promise<void> = Promise.resolve();
  let initDone = true;
  let initFailure: TaskFailure | null = null;
  /** The task running now (its promise pending, for an async one), or null between tasks. */
  let current: WireTask | null = null;
  const owners: Owners<WireTask> = {
    owner: null,
    thrown: (error, owner) => crash(error, owner),
  };
  /** 1 while `drain` runs: shared with the pool by a Web Worker, else private. */
  let inTask: Int32Array<ArrayBufferLike> = new Int32Array(1);

  function flush(): void {
    if (outbox.length === 0 || closed) return;
    const batch = outbox.take();
    try {
      port.post(batch);
    } catch {
      // One result could not be cloned: send them one by one so only that one fails.
      for (const single of splitResults(batch)) {
        try {
          port.post(single);
        } catch (error) {
          port.post({
            ...single,
            values: [undefined],
            failures: [[0, {
              as: "type",
              thrown: toThrownData(
                new TypeError(
                  `Cannot send the task's result as it cannot be structured-cloned: ${
                    reasonOf(error)
                  }`,
                ),
              ),
            }]],
          });
        }
      }
    }
  }

  /**
   * Runs queued tasks in order. Synchronous as long as tasks are: it leaves only to wait
   * for a promise (an async task, a module import, the initializer) and is called again
   * when that settles, so a lone task costs no extra turns of the event loop.
   */
  function drain(): void {
    inTask[0] = 1;
    try {
      drainQueue();
    } finally {
      inTask[0] = 0;
    }
  }

  function drainQueue(): void {
    running = true;
    if (!initDone) {
      init.then(drain);
      return;
    }
    t0 = performance.now();
    while (queue.length > 0) {
      const task = queue.peek()!;
      if (cancelled.delete(task.id)) {
        queue.shift();
        taken++;
        continue;
      }
      let loaded: Loaded | TaskFailure | undefined = initFailure ?? loadedById.get(task.fnId);
      if (loaded === undefined) {
        const pending = functions.get(task.fnId);
        // Only a function's first task waits for it to import.
        if (pending) {
          pending.then(drain);
          return;
        }
        loaded = failure(new Error(`Worker has no function ${task.fnId}`), "task");
      }
      queue.shift();
      taken++;
      const start = TIME_ORIGIN + t0;
      if (!("fn" in loaded)) {
        finish(task.id, start, undefined, loaded);
        continue;
      }
      let value: unknown;
      let then: Then | null;
      current = owners.owner = task;
      try {
        value = call(loaded.fn, task);
        // Read here, once, as `await` would: a `then` getter that throws is the task's error.
        then = thenOf(value);
      } catch (thrown) {
        finish(task.id, start, undefined, describeFailure(thrown, loaded));
        continue;
      }
      if (then !== null) {
        flush(); // do not hold finished results behind a task that waits
        const fn = loaded;
        try {
          PROMISE_THEN.call(
            // Any other thenable is adopted as `await` adopts it: a `then` that throws
            // rejects, only its first call back counts, and never inside this loop.
            then === PROMISE_THEN ? value : new Promise((resolve, reject) => {
              then.call(value, resolve, reject);
            }),
            (result: unknown) => {
              finish(task.id, start, result, null);
              drain();
            },
            (thrown: unknown) => {
              finish(task.id, start, undefined, describeFailure(thrown, fn));
              drain();
            },
          );
        } catch (thrown) {
          // A promise whose `constructor` getter throws, say.
          finish(task.id, start, undefined, describeFailure(thrown, loaded));
          continue;
        }
        return;
      }
      finish(task.id, start, value, null);
    }
    if (batchEnds.length > 0) batchEnds.clear(); // the last tasks were cancelled
    flush();
    running = false;
  }

  /** Records a task's outcome; sends results at each batch's end (and every few ms). */
  function finish(id: number, start: number, value: unknown, failed: TaskFailure | null): void {
    current = null;
    let t1 = performance.now();
    if (failed === null) outbox.ok(id, start, t1 - t0, value);
    else outbox.fail(id, start, t1 - t0, failed);
    if (taken >= (batchEnds.peek() ?? Infinity)) {
      while (taken >= (batchEnds.peek() ?? Infinity)) batchEnds.shift();
      flush();
      if (queue.length > 0) t1 = performance.now();
    } else if (TIME_ORIGIN + t1 - outbox.since >= FLUSH_MS) {
      flush();
      t1 = performance.now();
    }
    // One clock read per task: the next task starts when this one ended.
    t0 = t1;
  }

  function define(definition: FunctionDefinition): void {
    const fnId = definition.fnId;
    if (functions.has(fnId)) return;
    if (definition.kind === "inline") {
      const loaded = compileInline(definition);
      loadedById.set(fnId, loaded);
      functions.set(fnId, Promise.resolve(loaded));
      return;
    }
    const loading: Promise<Loaded | TaskFailure> = loadModule(definition, moduleCache).then(
      (loaded) => {
        // Unless it was forgotten meanwhile (and maybe defined again).
        if (functions.get(fnId) === loading) loadedById.set(fnId, loaded);
        return loaded;
      },
    );
    functions.set(fnId, loading);
  }

  return {
    receive(message: ToWorker): void {
      if (isLoneTask(message)) {
        queue.push({
          id: message[0],
          fnId: message[1],
          mode: CALL_MODES[message[2]]!,
          args: message[3],
        });
        batchEnds.push(++received);
        if (!running) drain();
        return;
      }
      switch (message.type) {
        case "init": {
          if (message.initializer) {
            define(message.initializer);
            initDone = false;
            const fnId = message.initializer.fnId;
            init = functions.get(fnId)!.then(async (loaded) => {
              if (!("fn" in loaded)) {
                initFailure = initializerFailure(loaded);
              } else {
                try {
                  await loaded.fn(...message.initArgs);
                } catch (thrown) {
                  initFailure = initializerFailure(describeFailure(thrown, loaded));
                }
              }
              initDone = true;
            });
          }
          init.then(() => port.post({ type: "ready" }));
          return;
        }
        case "run":
          for (const definition of message.defines) define(definition);
          for (let i = 0; i < message.ids.length; i++) {
            queue.push({
              id: message.ids[i]!,
              fnId: message.fnIds[i]!,
              mode: CALL_MODES[message.modes[i]!]!,
              args: message.args[i]!,
            });
          }
          received += message.ids.length;
          batchEnds.push(received);
          if (!running) drain();
          return;
        case "cancel":
          for (const id of message.ids) cancelled.add(id);
          return;
        case "forget":
          for (const fnId of message.fnIds) {
            functions.delete(fnId);
            loadedById.delete(fnId);
          }
          return;
        default:
          message satisfies never;
      }
    },
    markTasksIn(flags: Int32Array): void {
      inTask = flags;
    },
    crash,
    owners,
  };

  function crash(thrown: unknown, owner?: WireTask | null): void {
    if (closed) return;
    inTask[0] = 0; // ending on its own, not stuck
    const running = current;
    let reason = thrown;
    if (owner && owner !== running) {
      const loaded = loadedById.get(owner.fnId);
      const name = (loaded && "fn" in loaded ? loaded.name : "") || "(anonymous)";
      reason = new Error(
        `A timer that task '${name}' (task ${owner.id}) left behind after it finished threw: ` +
          `${thrown instanceof Error ? thrown.message : String(thrown)}`,
        { cause: thrown },
      );
      // Its own call has long succeeded: this is where the user sees it.
      console.error(`seed pool: ${(reason as Error).message}; its worker is replaced`, thrown);
    }
    flush();
    closed = true;
    try {
      // Idle: no task was running, so the tasks this worker holds never started.
      port.post(
        running === null
          ? { type: "crash", thrown: toThrownData(reason), idle: true }
          : { type: "crash", thrown: toThrownData(reason), running: running.id },
      );
    } finally {
      port.close();
    }
  }
}
