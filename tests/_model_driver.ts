/**
 * Runs a generated script (tests/_model.ts) on a real pool and checks every invariant of
 * the contract that the run exercised: each call settles exactly once, within a deadline,
 * with an outcome the model allows; the counters and events add up; `queued` is never
 * negative and `running` never exceeds the workers; the pool still works afterwards and
 * `terminate()` resolves.
 *
 * A hang is found as a stall: no pool event and no settled call for `stallMs` while calls
 * are pending (tasks here last at most a few tens of ms, so that is a generous margin).
 *
 * @module
 */

import {
  AsyncResult,
  type Isolation,
  Pool,
  type PoolOptions,
  TaskError,
  taskModule,
} from "../mod.ts";
import { fixture } from "./_isolation.ts";
import {
  type CallSpec,
  describeCall,
  expect,
  type Expectation,
  itemValue,
  materialize,
  type Outcome,
  type PoolSpec,
  type Script,
  STARMAP_OFFSET,
} from "./_model.ts";
import {
  checkSettled,
  checkStreamed,
  describeError,
  outcomeOf,
  type Settled,
  type Streamed,
} from "./_model_checks.ts";
import { Watch } from "./_model_watch.ts";

const behaviours = taskModule<typeof import("./fixtures/behaviours.ts")>(
  fixture("behaviours.ts"),
);

/** How long the driver waits before it calls something a hang. */
export interface Limits {
  /** No progress at all (no event, no settled call) for this long is a hang. */
  readonly stallMs: number;
  /** Nor may one wait last longer than this, progress or not. */
  readonly hardMs: number;
  /** Invariants not to fail on (any whose name contains one of these), to look past them. */
  readonly ignore?: readonly string[];
  /** If given, fail only on these invariants (by parts of their names), to shrink to one. */
  readonly only?: readonly string[];
  /** How long a task may wait while a worker is idle (default: a moment, 100 ms). */
  readonly idleBreachMs?: number;
}

/** Milliseconds, cleared when done, so the test's sanitizers see no leaked timer. */
async function within<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One call of the script, as it runs. */
class CallRun {
  /** The ids of the tasks it queued while it was being made (arrays and generators). */
  readonly ids: number[] = [];
  readonly abortReason: DOMException;
  settledAs: Settled | Streamed | null = null;
  thrownAtCall: unknown = undefined;
  stage = "calling";
  callbacks = { callback: [] as unknown[], errorCallback: [] as unknown[] };
  done: Promise<void> = Promise.resolve();
  settled = false;
  /** Found never to settle: no more waiting for it. */
  hung = false;
  /** `stats().queued` just before the call. */
  queuedBefore = 0;
  /** What an `*Async` call returned. */
  asyncResult: AsyncResult<unknown> | null = null;

  constructor(
    readonly index: number,
    readonly spec: CallSpec,
    readonly expectation: Expectation,
  ) {
    this.abortReason = new DOMException(`model abort of call ${index}`, "AbortError");
  }

  classify(error: unknown): Outcome | string {
    return outcomeOf(error, this.abortReason);
  }

  describe(): string {
    return describeCall(this.spec, this.index);
  }
}

/** The options of a script's pool, but for its size (the `size`, or a cluster's hosts). */
export function poolOptions(spec: PoolSpec, isolation: Isolation): PoolOptions {
  return {
    isolation,
    ...(spec.maxTasksPerWorker !== undefined && { maxTasksPerWorker: spec.maxTasksPerWorker }),
    ...(spec.maxQueue !== undefined && { maxQueue: spec.maxQueue }),
    ...(spec.idleTimeout !== undefined && { idleTimeout: spec.idleTimeout }),
  };
}

/**
 * Runs `script` on a fresh pool in `isolation`; throws an InvariantViolation if one broke.
 * `makePool` makes the pool (a cluster's, say) of `poolOptions` and `spec.size` workers.
 */
export async function runScript(
  script: Script,
  isolation: Isolation,
  limits: Limits,
  makePool: (spec: PoolSpec) => Pool = (spec) =>
    new Pool({ size: spec.size, ...poolOptions(spec, isolation) }),
) {
  const { pool: spec } = script;
  const pool = makePool(spec);
  const watch = new Watch(pool, spec.maxQueue, limits.idleBreachMs);
  const runs: CallRun[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const terminations: Promise<void>[] = [];
  let terminateHung = false;
  try {
    const actions = script.actions;
    for (let a = 0; a < actions.length; a++) {
      const action = actions[a]!;
      switch (action.kind) {
        case "call": {
          const context = {
            state: pool.state,
            terminateFollows: actions.slice(a + 1).some((next) => next.kind === "terminate"),
            maxQueue: spec.maxQueue,
            callIndex: runs.length,
          };
          const run = new CallRun(runs.length, action, expect(action, context));
          runs.push(run);
          startCall(pool, run, watch, timers);
          break;
        }
        case "pause":
          await within(new Promise(() => {}), action.ms); // only the time passes
          break;
        case "drain":
          await settleAll(runs, watch, limits, "a drain step");
          break;
        case "close":
          pool.close();
          break;
        case "terminate":
          terminations.push(pool.terminate());
          break;
      }
      watch.sample(`after step ${a} (${action.kind})`);
    }
    await settleAll(runs, watch, limits, "the end of the script");
    await watch.idle(limits.stallMs);
    for (const run of runs) if (run.settled) checkRun(run, watch);
    watch.checkIdle(
      runs.filter((run) => !run.expectation.refused)
        .flatMap((run) => run.expectation.items)
        .filter((item) => item.outcome === "ok").length,
    );
    // After a hang, a fresh call and join() would only wait for the same stuck call.
    const hung = runs.some((run) => run.hung);
    if (pool.state === "running" && !hung) {
      const fresh = pool.apply(behaviours.behave, [{ kind: "quick", value: 4242 }]);
      let value: unknown;
      fresh.then((v) => value = v, (e) => value = e);
      if (!await settlesOrStalls(fresh, watch, limits)) {
        watch.violate("the pool still works", "a fresh apply() did not settle");
      } else if (value !== 4242) {
        watch.violate("the pool still works", `a fresh apply() gave ${Deno.inspect(value)}`);
      }
      pool.close();
    }
    if (pool.state === "closing" && !hung && !await within(pool.join(), limits.stallMs)) {
      watch.violate(
        "join() resolves after close()",
        `join() did not resolve in ${limits.stallMs} ms`,
      );
    }
    for (const termination of terminations) {
      if (!await within(termination, limits.stallMs)) terminateHung = true;
    }
  } finally {
    for (const timer of timers) clearTimeout(timer);
    if (!await within(pool.terminate(), limits.stallMs)) terminateHung = true;
    watch.detach();
  }
  if (terminateHung) watch.violate("terminate() resolves", `not within ${limits.stallMs} ms`);
  watch.throwIfViolated(limits.ignore ?? [], limits.only);
}

function startCall(
  pool: Pool,
  run: CallRun,
  watch: Watch,
  timers: Set<ReturnType<typeof setTimeout>>,
): void {
  const { spec } = run;
  const controller = spec.abort ? new AbortController() : undefined;
  if (spec.abort?.when === "before") controller!.abort(run.abortReason);
  const options: Record<string, unknown> = {};
  if (spec.chunksize !== undefined) options.chunksize = spec.chunksize;
  if (spec.timeout !== undefined) options.timeout = spec.timeout;
  if (controller) options.signal = controller.signal;
  if (spec.lane === "none") options.permissions = "none";
  if (spec.callbacks) {
    options.callback = (value: unknown) => run.callbacks.callback.push(value);
    options.errorCallback = (error: unknown) => run.callbacks.errorCallback.push(error);
  }
  const starmap = spec.method.startsWith("starmap");
  const args = spec.items.map((item, i) => {
    const arg = materialize(item, itemValue(run.index, i));
    return starmap ? [arg, STARMAP_OFFSET] : arg;
  });
  const input = spec.input === "array" ? args : spec.input === "generator"
    ? (function* () {
      yield* args;
    })()
    : (async function* () {
      for (const arg of args) yield arg;
    })();
  run.queuedBefore = pool.stats().queued;
  // deno-lint-ignore no-explicit-any
  const p = pool as any; // the calls take fixture items of every shape, on purpose
  const fn = starmap ? behaviours.behaveWith : behaviours.behave;
  let made: unknown;
  watch.capture(run.ids);
  try {
    made = spec.method === "apply" || spec.method === "applyAsync"
      ? p[spec.method](fn, args, options)
      : p[spec.method](fn, input, options);
  } catch (error) {
    run.thrownAtCall = error;
  } finally {
    watch.capture(null);
  }
  if (spec.abort?.when === "queued") controller!.abort(run.abortReason);
  if (spec.abort?.when === "started") {
    const abort = () => queueMicrotask(() => controller!.abort(run.abortReason));
    if (run.ids.length > 0) watch.onStart(run.ids, abort);
    else timers.add(setTimeout(() => controller!.abort(run.abortReason), 1));
  }
  if (spec.abort?.when === "later") {
    timers.add(setTimeout(() => controller!.abort(run.abortReason), spec.abort.ms));
  }
  if (run.thrownAtCall !== undefined) {
    run.settledAs = {
      kind: "error",
      outcome: run.classify(run.thrownAtCall),
      error: run.thrownAtCall,
    };
    run.settled = true;
    return;
  }
  const settle = (as: Settled | Streamed) => {
    run.settledAs = as;
    run.settled = true;
    watch.progress();
  };
  if (spec.method.startsWith("imap")) {
    run.done = consume(made as AsyncIterableIterator<unknown>, run, watch).then(settle);
  } else {
    run.stage = "awaiting its result";
    const result = made as PromiseLike<unknown>;
    if (result instanceof AsyncResult) run.asyncResult = result;
    run.done = Promise.resolve(result).then(
      (value) => settle({ kind: "value", value }),
      (error) => settle({ kind: "error", outcome: run.classify(error), error }),
    );
  }
}

async function consume(
  iterator: AsyncIterableIterator<unknown>,
  run: CallRun,
  watch: Watch,
): Promise<Streamed> {
  const { consume: mode } = run.spec;
  const yielded: unknown[] = [];
  if (mode === "none") return { yielded, end: { kind: "untouched" } };
  const limit = mode === "full" ? Infinity : mode;
  let end: Streamed["end"];
  for (;;) {
    if (yielded.length >= limit) {
      run.stage = `return() after ${yielded.length} results`;
      await iterator.return!();
      return { yielded, end: { kind: "returned" } };
    }
    run.stage = `reading result ${yielded.length}`;
    try {
      const step = await iterator.next();
      if (step.done) {
        end = { kind: "done" };
        break;
      }
      yielded.push(step.value);
      watch.progress();
    } catch (error) {
      end = { kind: "error", outcome: run.classify(error), error };
      break;
    }
  }
  // An iterator that ended stays ended: the next next() says done, it does not throw or hang.
  run.stage = `next() after the stream ended (${end.kind})`;
  const after = await iterator.next().then((step) => step.done ? null : step, (e) => e);
  if (after !== null) {
    watch.violate(
      "an imap ends or throws once",
      `${run.describe()}: next() after the end gave ${Deno.inspect(after)}`,
    );
  }
  return { yielded, end };
}

/**
 * A worker still starting is progress on its way: on a loaded machine (a cold cache, other
 * suites beside this one) a start can take seconds, and is no hang of the pool's. A worker
 * that never starts is still caught by the hard limit.
 */
function startingCountsAsProgress(watch: Watch): void {
  if (watch.pool.stats().workers.some((w) => w.state === "starting")) watch.progress();
}

/** Whether `promise` settles before progress stalls (or the hard limit passes). */
async function settlesOrStalls(promise: Promise<unknown>, watch: Watch, limits: Limits) {
  watch.progress();
  const started = performance.now();
  for (;;) {
    if (await within(promise, 50)) return true;
    startingCountsAsProgress(watch);
    const now = performance.now();
    if (now - watch.lastProgress > limits.stallMs || now - started > limits.hardMs) return false;
  }
}

/** Waits for every call so far; a call still pending when progress stalls is a hang. */
async function settleAll(runs: CallRun[], watch: Watch, limits: Limits, where: string) {
  watch.progress();
  const started = performance.now();
  for (;;) {
    const pending = runs.filter((run) => !run.settled && !run.hung);
    if (pending.length === 0) return;
    await within(Promise.race(pending.map((run) => run.done)), 50);
    startingCountsAsProgress(watch);
    const now = performance.now();
    if (now - watch.lastProgress > limits.stallMs || now - started > limits.hardMs) {
      for (const run of runs.filter((run) => !run.settled && !run.hung)) {
        run.hung = true;
        watch.violate(
          "every call settles",
          `${run.describe()} never settled (waited at ${where}), stuck ${run.stage}; pool: ` +
            watch.summary(),
        );
      }
      return;
    }
  }
}

function checkRun(run: CallRun, watch: Watch): void {
  const { spec, expectation: e } = run;
  const got = run.settledAs!;
  const name = run.describe();
  if (run.thrownAtCall !== undefined) {
    const outcome = run.classify(run.thrownAtCall);
    const allowed = e.refused
      ? e.throwsWhenRefused && outcome === "PoolClosedError"
      // A full queue: SPEC says the call "rejects"; an *Async call may throw it at once.
      : outcome === "QueueFullError" && e.races.has(outcome) && spec.method.endsWith("Async");
    if (!allowed) {
      watch.violate(
        "a call throws only what the contract says",
        `${name} threw ${describeError(run.thrownAtCall)}`,
      );
    }
    if (run.callbacks.callback.length + run.callbacks.errorCallback.length > 0) {
      watch.violate("callbacks run exactly once", `${name} threw at the call, yet a callback ran`);
    }
    return;
  }
  if (e.refused && e.throwsWhenRefused) {
    watch.violate(
      "a call throws only what the contract says",
      `${name} did not throw PoolClosedError at the call`,
    );
  }
  const wrong = "yielded" in got ? checkStreamed(spec, e, got) : checkSettled(spec, e, got);
  if (wrong) watch.violate("each call ends with an outcome the model allows", `${name}: ${wrong}`);
  const error = "yielded" in got
    ? (got.end.kind === "error" ? got.end.error : undefined)
    : got.kind === "error"
    ? got.error
    : undefined;
  if (error instanceof TaskError) {
    const item = Number(/item (\d+) throws/.exec(error.message)?.[1] ?? NaN);
    const own = spec.items.findIndex((it, i) =>
      it.kind === "throw" && itemValue(run.index, i) === item
    );
    if (own < 0) {
      watch.violate("an error reaches the call of its item", `${name} got ${describeError(error)}`);
    }
  }
  if (
    spec.method === "apply" && "kind" in got && got.kind === "error" &&
    got.outcome === "QueueFullError"
  ) {
    if (run.queuedBefore + 1 <= (watch.maxQueue ?? Infinity)) {
      watch.violate(
        "a call with room under maxQueue is accepted",
        `${name} was refused with ${run.queuedBefore} queued`,
      );
    }
  }
  const result = run.asyncResult;
  if (result && !("yielded" in got)) {
    if (!result.ready() || result.successful() !== (got.kind === "value")) {
      watch.violate(
        "an AsyncResult says how its call ended",
        `${name}: ready() ${result.ready()}, successful() ${result.ready() && result.successful()}`,
      );
    }
  }
  if (spec.callbacks && !("yielded" in got)) {
    const { callback, errorCallback } = run.callbacks;
    const once = got.kind === "value"
      ? callback.length === 1 && errorCallback.length === 0 && callback[0] === got.value
      : errorCallback.length === 1 && callback.length === 0 && errorCallback[0] === got.error;
    if (!once) {
      watch.violate(
        "callbacks run exactly once",
        `${name}: callback ran ${callback.length}x, errorCallback ${errorCallback.length}x, for ${got.kind}`,
      );
    }
  }
  watch.checkTaskEnds(run.ids, spec, e, name);
}
