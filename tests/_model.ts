/**
 * The model of the model-based test: generated scripts of pool calls (what each item does,
 * how each call is made and stopped, when the pool is closed or terminated), and what each
 * call may end with. The driver (tests/_model_driver.ts) runs a script on a real pool, and
 * tests/_model_checks.ts says whether what it saw is an outcome the contract allows.
 *
 * Timing is real, so some outcomes are a race: a call with a timeout either finishes or
 * fails with `TimeoutError`; a map with two failing items fails with either one's error.
 * Each such race is an explicit alternative below; nothing else is accepted.
 *
 * @module
 */

import fc from "fast-check";
import type { Behaviour } from "./fixtures/behaviours.ts";

/** What one item does: a fixture behaviour, or an argument that cannot be cloned. */
export type ItemSpec =
  | { readonly kind: "quick" }
  | { readonly kind: "sleep"; readonly ms: number }
  | { readonly kind: "spin"; readonly ms: number }
  | { readonly kind: "throw"; readonly ms: number }
  | { readonly kind: "unclonableResult" }
  | { readonly kind: "unclonableArg"; readonly as: "symbol" | "function" }
  | { readonly kind: "crash"; readonly how: "close" | "exit" };

const METHODS = [
  "apply",
  "applyAsync",
  "map",
  "mapAsync",
  "starmap",
  "starmapAsync",
  "imap",
  "imapUnordered",
] as const;

/** The pool's methods, as a script calls them. */
export type Method = typeof METHODS[number];

/** When a call's signal is aborted. */
export type AbortAt =
  | { readonly when: "before" } // an already aborted signal
  | { readonly when: "queued" } // right after the call returns: nothing has started
  | { readonly when: "started" } // once one of its tasks started (a microtask later)
  | { readonly when: "later"; readonly ms: number };

/** One call of a script. */
export interface CallSpec {
  readonly kind: "call";
  readonly method: Method;
  /** One for `apply`/`applyAsync`. */
  readonly items: readonly ItemSpec[];
  /** How a map or imap gets its items. */
  readonly input: "array" | "generator" | "async";
  readonly chunksize: number | undefined;
  readonly timeout: number | undefined;
  readonly abort: AbortAt | undefined;
  /** `"none"`: the call runs in a second lane, `permissions: "none"`. */
  readonly lane: "default" | "none";
  /** imap: read to the end, read `n` results then `return()`, or never touched. */
  readonly consume: "full" | "none" | number;
  /** `*Async`: with `callback` and `errorCallback`. */
  readonly callbacks: boolean;
}

/** One step of a script. */
export type Action =
  | CallSpec
  | { readonly kind: "pause"; readonly ms: number }
  | { readonly kind: "drain" } // wait until every call so far has settled
  | { readonly kind: "close" }
  | { readonly kind: "terminate" };

/** The pool a script runs on. */
export interface PoolSpec {
  readonly size: number;
  readonly maxTasksPerWorker: number | undefined;
  readonly maxQueue: number | undefined;
  readonly idleTimeout: number | undefined;
  /** Whether calls may use a second permission lane. */
  readonly secondLane: boolean;
}

/** A generated script: a pool and what is done with it. */
export interface Script {
  readonly pool: PoolSpec;
  readonly actions: readonly Action[];
}

// ---- generators ----------------------------------------------------------------------

/** `fc.record` of plain objects, so that a counterexample reads as plain JSON. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as unknown as fc.Arbitrary<T>;
}

const ms = (max: number) => fc.integer({ min: 1, max });

const item: fc.Arbitrary<ItemSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<ItemSpec>({ kind: "quick" }) },
  { weight: 3, arbitrary: ms(20).map((ms): ItemSpec => ({ kind: "sleep", ms })) },
  { weight: 2, arbitrary: ms(8).map((ms): ItemSpec => ({ kind: "spin", ms })) },
  // Mostly after a delay, so that a later item may fail before an earlier one.
  {
    weight: 3,
    arbitrary: fc.oneof(fc.constant(0), ms(50), ms(50))
      .map((ms): ItemSpec => ({ kind: "throw", ms })),
  },
  { weight: 1, arbitrary: fc.constant<ItemSpec>({ kind: "unclonableResult" }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("symbol", "function" as const)
      .map((as): ItemSpec => ({ kind: "unclonableArg", as })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("close", "exit" as const)
      .map((how): ItemSpec => ({ kind: "crash", how })),
  },
);

const abortAt: fc.Arbitrary<AbortAt> = fc.oneof(
  fc.constant<AbortAt>({ when: "before" }),
  fc.constant<AbortAt>({ when: "queued" }),
  fc.constant<AbortAt>({ when: "started" }),
  fc.integer({ min: 0, max: 20 }).map((ms): AbortAt => ({ when: "later", ms })),
);

/** `undefined`, or with `percent` % chance a value (shrinks towards `undefined`). */
function optional<T>(arbitrary: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant(undefined) },
    { weight: percent, arbitrary },
  );
}

/**
 * A call: every field drawn, then fitted to its method (one item for apply, consumption
 * only for imap, callbacks only for the `*Async` forms). Drawn flat, not chained, so that
 * fast-check shrinks every field of a failing script.
 */
const call: fc.Arbitrary<CallSpec> = record({
  method: fc.constantFrom(...METHODS),
  items: fc.array(item, { maxLength: 6 }),
  input: fc.oneof(
    { weight: 4, arbitrary: fc.constant("array" as const) },
    { weight: 1, arbitrary: fc.constant("generator" as const) },
    { weight: 1, arbitrary: fc.constant("async" as const) },
  ),
  chunksize: optional(fc.integer({ min: 1, max: 3 }), 50),
  timeout: optional(fc.integer({ min: 1, max: 40 }), 15),
  abort: optional(abortAt, 20),
  lane: fc.constantFrom("default" as const, "none" as const),
  consume: fc.oneof(
    { weight: 3, arbitrary: fc.constant("full" as const) },
    { weight: 1, arbitrary: fc.constant("none" as const) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
  ),
  callbacks: fc.boolean(),
}).map((drawn): CallSpec => {
  const single = drawn.method === "apply" || drawn.method === "applyAsync";
  return {
    kind: "call",
    ...drawn,
    items: single ? [drawn.items[0] ?? { kind: "quick" }] : drawn.items,
    input: single ? "array" : drawn.input,
    chunksize: single ? undefined : drawn.chunksize,
    consume: drawn.method.startsWith("imap") ? drawn.consume : "full",
    callbacks: drawn.method.endsWith("Async") && drawn.callbacks,
  };
});

/** Scripts for one isolation: pool options drawn too, then up to `maxActions` steps. */
export function scripts(maxActions = 8): fc.Arbitrary<Script> {
  const pool: fc.Arbitrary<PoolSpec> = record({
    size: fc.integer({ min: 1, max: 3 }),
    maxTasksPerWorker: optional(fc.integer({ min: 1, max: 3 }), 30),
    maxQueue: optional(fc.integer({ min: 1, max: 4 }), 30),
    idleTimeout: optional(fc.integer({ min: 1, max: 30 }), 30),
    secondLane: fc.boolean(),
  });
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 20, arbitrary: call },
    {
      weight: 5,
      arbitrary: fc.integer({ min: 0, max: 25 }).map((ms): Action => ({ kind: "pause", ms })),
    },
    { weight: 3, arbitrary: fc.constant({ kind: "drain" } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: "close" } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: "terminate" } as const) },
  );
  return record({
    pool,
    actions: fc.array(action, { minLength: 1, maxLength: maxActions }),
  }).map(({ pool, actions }) => ({
    pool,
    // Without a second lane every call runs in the pool's own.
    actions: pool.secondLane
      ? actions
      : actions.map((a) => a.kind === "call" ? { ...a, lane: "default" as const } : a),
  }));
}

// ---- the model -----------------------------------------------------------------------

/** Every way a call can end, named by error class ("ok" for a result). */
export type Outcome =
  | "ok"
  | "TaskError"
  | "TypeError"
  | "WorkerCrashError"
  | "TimeoutError"
  | "AbortError"
  | "PoolClosedError"
  | "QueueFullError";

/** Added by starmap's `behaveWith`. */
export const STARMAP_OFFSET = 7;

/** The value an item returns, unique within a script: the call's number and the item's. */
export function itemValue(callIndex: number, itemIndex: number): number {
  return callIndex * 100 + itemIndex;
}

/** The argument a call passes for an item: a fixture behaviour, or something uncloneable. */
export function materialize(spec: ItemSpec, value: number): unknown {
  if (spec.kind === "unclonableArg") {
    return spec.as === "symbol" ? Symbol(`item ${value}`) : [() => value];
  }
  return { ...spec, value } satisfies Behaviour;
}

/** How an item ends on its own, in any call: its error class, or "ok". */
export function itemOutcome(spec: ItemSpec): Outcome {
  switch (spec.kind) {
    case "throw":
      return "TaskError";
    case "unclonableResult":
    case "unclonableArg":
      return "TypeError";
    case "crash":
      return "WorkerCrashError";
    default:
      return "ok";
  }
}

/** What the pool's state and the rest of the script allow a call to end with. */
export interface Expectation {
  /** The pool was closed or terminated before the call: it fails with PoolClosedError. */
  readonly refused: boolean;
  /** The call throws synchronously when refused (the `*Async` forms and imap). */
  readonly throwsWhenRefused: boolean;
  /** Its signal was aborted before any task could start: it fails with the reason. */
  readonly abortedUpFront: boolean;
  /** The items' own outcomes, and the values of those that succeed. */
  readonly items: readonly { readonly outcome: Outcome; readonly value: unknown }[];
  /** Outcomes a race may give instead: timeout, abort, terminate, a full queue. */
  readonly races: ReadonlySet<Outcome>;
}

/** Where the pool stands when a call is made, and what comes after it in the script. */
export interface CallContext {
  readonly state: "running" | "closing" | "terminated";
  readonly terminateFollows: boolean;
  readonly maxQueue: number | undefined;
  readonly callIndex: number;
}

/** What a call may end with. */
export function expect(spec: CallSpec, context: CallContext): Expectation {
  const races = new Set<Outcome>();
  if (spec.timeout !== undefined) races.add("TimeoutError");
  if (spec.abort !== undefined) races.add("AbortError");
  if (context.terminateFollows) races.add("PoolClosedError");
  // imap waits for room in the queue instead (issue 10, section 3).
  if (context.maxQueue !== undefined && !spec.method.startsWith("imap")) {
    races.add("QueueFullError");
  }
  const offset = spec.method.startsWith("starmap") ? STARMAP_OFFSET : 0;
  return {
    refused: context.state !== "running",
    throwsWhenRefused: spec.method.endsWith("Async") || spec.method.startsWith("imap"),
    // "queued": aborted right after the call, before any task could start, unless there
    // were none (an empty array map has resolved with [] by then, an empty imap has ended).
    abortedUpFront: spec.abort?.when === "before" ||
      (spec.abort?.when === "queued" && spec.items.length > 0),
    items: spec.items.map((item, i) => ({
      outcome: itemOutcome(item),
      value: itemValue(context.callIndex, i) + offset,
    })),
    races,
  };
}

/** A call as a report shows it: `call #2 imap([throw 50ms, throw 5ms], chunksize 1)`. */
export function describeCall(spec: CallSpec, index: number): string {
  const items = spec.items.map((i) =>
    i.kind + ("ms" in i ? ` ${i.ms}ms` : "") + ("how" in i ? ` ${i.how}` : "") +
    ("as" in i ? ` ${i.as}` : "")
  );
  const options = [
    spec.input !== "array" ? `input ${spec.input}` : "",
    spec.chunksize !== undefined ? `chunksize ${spec.chunksize}` : "",
    spec.timeout !== undefined ? `timeout ${spec.timeout}` : "",
    spec.abort ? `abort ${spec.abort.when}${"ms" in spec.abort ? ` ${spec.abort.ms}ms` : ""}` : "",
    spec.lane !== "default" ? `permissions ${spec.lane}` : "",
    spec.method.startsWith("imap") ? `consume ${spec.consume}` : "",
    spec.callbacks ? "callbacks" : "",
  ].filter(Boolean);
  return `call #${index} ${spec.method}([${items.join(", ")}]${
    options.length ? `, ${options.join(", ")}` : ""
  })`;
}
