/**
 * The model's verdict on what a call ended with: whether the outcome a real pool gave is
 * one that the call's {@link Expectation} (tests/_model.ts) allows, and a readable account
 * of it when not.
 *
 * @module
 */

import {
  PoolClosedError,
  QueueFullError,
  TaskError,
  TimeoutError,
  WorkerCrashError,
} from "../mod.ts";
import type { CallSpec, Expectation, Outcome } from "./_model.ts";

/** The outcome an error stands for: its class, or the abort (by identity with its reason). */
export function outcomeOf(error: unknown, abortReason: unknown): Outcome | string {
  if (error === abortReason) return "AbortError";
  for (const type of [TaskError, WorkerCrashError, TimeoutError, PoolClosedError, QueueFullError]) {
    if (error instanceof type) return type.name as Outcome;
  }
  if (error instanceof TypeError) return "TypeError";
  return `unexpected ${describeError(error)}`;
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
