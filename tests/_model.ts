/**
 * The model of the model-based test: generated scripts of pool calls (what each item does,
 * how each call is made and stopped, when the pool is closed or terminated), and what each
 * call may end with. The driver (tests/_model_driver.ts) runs a script on a real pool; the
 * checks here say whether what it saw is an outcome the contract allows.
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

/** The pool's methods, as a script calls them. */
export type Method =
  | "apply"
  | "applyAsync"
  | "map"
  | "mapAsync"
  | "starmap"
  | "starmapAsync"
  | "imap"
  | "imapUnordered";

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

const item: fc.Arbitrary<ItemSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: "quick" } as const) },
  {
    weight: 3,
    arbitrary: record({
      kind: fc.constant("sleep" as const),
      ms: fc.integer({ min: 1, max: 20 }),
    }),
  },
  {
    weight: 2,
    arbitrary: record({
      kind: fc.constant("spin" as const),
      ms: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: record({
      kind: fc.constant("throw" as const),
      ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "unclonableResult" } as const) },
  {
    weight: 1,
    arbitrary: record({
      kind: fc.constant("unclonableArg" as const),
      as: fc.constantFrom("symbol" as const, "function" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: record({
      kind: fc.constant("crash" as const),
      how: fc.constantFrom("close" as const, "exit" as const),
    }),
  },
);

const abortAt: fc.Arbitrary<AbortAt> = fc.oneof(
  fc.constant({ when: "before" } as const),
  fc.constant({ when: "queued" } as const),
  fc.constant({ when: "started" } as const),
  record({ when: fc.constant("later" as const), ms: fc.integer({ min: 0, max: 20 }) }),
);

function optional<T>(arbitrary: fc.Arbitrary<T>, freq: number): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq });
}

function call(secondLane: boolean): fc.Arbitrary<CallSpec> {
  return fc.constantFrom<Method>(
    "apply",
    "applyAsync",
    "map",
    "mapAsync",
    "starmap",
    "starmapAsync",
    "imap",
    "imapUnordered",
  ).chain((method) => {
    const single = method === "apply" || method === "applyAsync";
    return record({
      kind: fc.constant("call" as const),
      method: fc.constant(method),
      items: fc.array(item, single ? { minLength: 1, maxLength: 1 } : { maxLength: 6 }),
      input: single ? fc.constant("array" as const) : fc.oneof(
        { weight: 4, arbitrary: fc.constant("array" as const) },
        { weight: 1, arbitrary: fc.constant("generator" as const) },
        { weight: 1, arbitrary: fc.constant("async" as const) },
      ),
      chunksize: single ? fc.constant(undefined) : optional(fc.integer({ min: 1, max: 3 }), 2),
      timeout: optional(fc.integer({ min: 1, max: 40 }), 6),
      abort: optional(abortAt, 5),
      lane: secondLane
        ? fc.constantFrom("default" as const, "none" as const)
        : fc.constant("default" as const),
      consume: method.startsWith("imap")
        ? fc.oneof(
          { weight: 3, arbitrary: fc.constant("full" as const) },
          { weight: 1, arbitrary: fc.constant("none" as const) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
        )
        : fc.constant("full" as const),
      callbacks: method.endsWith("Async") ? fc.boolean() : fc.constant(false),
    });
  });
}

/** Scripts for one isolation: pool options drawn too, then up to `maxActions` steps. */
export function scripts(maxActions = 8): fc.Arbitrary<Script> {
  const pool: fc.Arbitrary<PoolSpec> = record({
    size: fc.integer({ min: 1, max: 3 }),
    maxTasksPerWorker: optional(fc.integer({ min: 1, max: 3 }), 4),
    maxQueue: optional(fc.integer({ min: 1, max: 4 }), 4),
    idleTimeout: optional(fc.integer({ min: 1, max: 30 }), 4),
    secondLane: fc.boolean(),
  });
  return pool.chain((spec) =>
    record({
      pool: fc.constant(spec),
      actions: fc.array(
        fc.oneof(
          { weight: 20, arbitrary: call(spec.secondLane) },
          {
            weight: 5,
            arbitrary: record({
              kind: fc.constant("pause" as const),
              ms: fc.integer({ min: 0, max: 25 }),
            }),
          },
          { weight: 3, arbitrary: fc.constant({ kind: "drain" } as const) },
          { weight: 1, arbitrary: fc.constant({ kind: "close" } as const) },
          { weight: 1, arbitrary: fc.constant({ kind: "terminate" } as const) },
        ),
        { minLength: 1, maxLength: maxActions },
      ),
    })
  );
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
  switch (spec.kind) {
    case "unclonableArg":
      return spec.as === "symbol" ? Symbol(`item ${value}`) : [() => value];
    case "crash":
      return { kind: "crash", value, how: spec.how } satisfies Behaviour;
    case "quick":
    case "unclonableResult":
      return { kind: spec.kind, value } satisfies Behaviour;
    default:
      return { ...spec, value } satisfies Behaviour;
  }
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

/** A failed check: which invariant, and what was seen. */
export class InvariantViolation extends Error {
  /** The invariants broken, each with a few examples of what was seen. */
  readonly broken: ReadonlyMap<string, readonly string[]>;

  constructor(broken: ReadonlyMap<string, readonly string[]>) {
    const lines = [...broken].map(([invariant, seen]) =>
      `${invariant}:\n${seen.map((d) => `    ${d}`).join("\n")}`
    );
    super(`${broken.size} invariant(s) broken:\n${lines.join("\n")}`);
    this.name = "InvariantViolation";
    this.broken = broken;
  }
}

/** What an apply or a map ended with. */
export type Settled =
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "error"; readonly outcome: Outcome | string; readonly error: unknown };

/** What consuming an imap gave: the results read, and how the reading ended. */
export interface Streamed {
  readonly yielded: readonly unknown[];
  readonly end:
    | { readonly kind: "done" }
    | { readonly kind: "returned" }
    | { readonly kind: "untouched" }
    | { readonly kind: "error"; readonly outcome: Outcome | string; readonly error: unknown };
}

const failed = (e: Expectation) => e.items.filter((i) => i.outcome !== "ok");

/** Checks an apply's or a map's outcome against the model; returns what is wrong, or null. */
export function checkSettled(spec: CallSpec, e: Expectation, got: Settled): string | null {
  if (e.refused || e.abortedUpFront) {
    const want: Outcome = e.refused ? "PoolClosedError" : "AbortError";
    if (got.kind === "error" && got.outcome === want) return null;
    // A call beyond maxQueue may be refused at once, before its signal is looked at.
    const full = !e.refused && e.races.has("QueueFullError");
    if (full && got.kind === "error" && got.outcome === "QueueFullError") return null;
    return `expected ${want}${full ? " or QueueFullError" : ""}, got ${show(got)}`;
  }
  const single = spec.method === "apply" || spec.method === "applyAsync";
  const failures = failed(e);
  if (got.kind === "value") {
    if (failures.length > 0) {
      return `expected one of ${[...new Set(failures.map((f) => f.outcome))]}, got a value`;
    }
    const want = single ? e.items[0]!.value : e.items.map((i) => i.value);
    return sameValue(got.value, want) ? null : `expected ${Deno.inspect(want)}, got ${show(got)}`;
  }
  if (e.races.has(got.outcome as Outcome)) return null;
  if (failures.some((f) => f.outcome === got.outcome)) return null;
  const allowed = [...new Set([...failures.map((f) => f.outcome), ...e.races])];
  return `expected ${failures.length === 0 ? "a value" : "an error"} (allowed: ${
    allowed.join(", ") || "none"
  }), got ${show(got)}`;
}

/**
 * Checks an imap's results: ordered, a prefix of the results in input order, then the
 * end; unordered, results of distinct successful items. A failing item ends the stream
 * with its error, for ordered imap that of the first failing item in input order (thrown
 * no later than its position, no earlier than its chunk's start).
 */
export function checkStreamed(spec: CallSpec, e: Expectation, got: Streamed): string | null {
  const ordered = spec.method === "imap";
  const end = got.end;
  if (e.refused || e.abortedUpFront) {
    // Refused imaps throw at the call (checked by the driver); an aborted one ends at once.
    if (got.yielded.length > 0) return `expected no results, got ${Deno.inspect(got.yielded)}`;
    if (end.kind === "untouched" || end.kind === "returned") return null;
    return end.kind === "error" && end.outcome === "AbortError"
      ? null
      : `expected AbortError, got ${showEnd(got)}`;
  }
  const firstFailure = e.items.findIndex((i) => i.outcome !== "ok");
  const limit = firstFailure < 0 ? e.items.length : firstFailure;
  if (ordered) {
    for (let i = 0; i < got.yielded.length; i++) {
      if (i >= limit || !sameValue(got.yielded[i], e.items[i]!.value)) {
        return `result ${i} is ${Deno.inspect(got.yielded[i])}; expected in order ${
          Deno.inspect(e.items.slice(0, limit).map((x) => x.value))
        }`;
      }
    }
  } else {
    const ok = new Set(e.items.filter((i) => i.outcome === "ok").map((i) => i.value));
    const seen = new Set<unknown>();
    for (const value of got.yielded) {
      if (!ok.has(value) || seen.has(value)) {
        return `unordered results ${Deno.inspect(got.yielded)} are not distinct results of ${
          Deno.inspect([...ok])
        }`;
      }
      seen.add(value);
    }
  }
  switch (end.kind) {
    case "untouched":
      return null;
    case "returned":
      return typeof spec.consume === "number" && got.yielded.length === spec.consume
        ? null
        : `return() after ${got.yielded.length} results, asked after ${spec.consume}`;
    case "done": {
      if (firstFailure >= 0) return `ended without the error of item ${firstFailure}`;
      return got.yielded.length === e.items.length
        ? null
        : `ended after ${got.yielded.length} of ${e.items.length} results`;
    }
    case "error": {
      if (e.races.has(end.outcome as Outcome)) return null;
      if (firstFailure < 0) return `failed with ${showEnd(got)} although every item succeeds`;
      if (!ordered) {
        return failed(e).some((f) => f.outcome === end.outcome)
          ? null
          : `failed with ${showEnd(got)}, not the error of a failing item`;
      }
      // The error is thrown at the first failing item's position, or at its chunk's start.
      const chunk = spec.chunksize ?? Infinity;
      const chunkStart = chunk === Infinity ? 0 : firstFailure - (firstFailure % chunk);
      if (got.yielded.length < chunkStart) {
        return `threw ${showEnd(got)} after ${got.yielded.length} results; item ${firstFailure} ` +
          `is the first failing one (its chunk starts at ${chunkStart})`;
      }
      const inChunk = e.items.slice(firstFailure, chunkStart + chunk).map((i) => i.outcome);
      return inChunk.includes(end.outcome as Outcome)
        ? null
        : `threw ${showEnd(got)}; the first failing item ${firstFailure} fails with ` +
          `${e.items[firstFailure]!.outcome}`;
    }
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(got: Settled): string {
  return got.kind === "value" ? `value ${Deno.inspect(got.value)}` : describeError(got.error);
}

function showEnd(got: Streamed): string {
  return got.end.kind === "error" ? describeError(got.end.error) : got.end.kind;
}

/** An error as a report shows it: class and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error || error instanceof DOMException) {
    return `${error.name}: ${error.message}`;
  }
  return `thrown ${Deno.inspect(error)}`;
}
