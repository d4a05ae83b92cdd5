/**
 * How a workload is measured: its steps run once as a warm-up and then `runs` times, the
 * order of the steps alternating between runs so that neither the pool nor the floor always
 * goes first; each run's values are kept, so that a pool row is compared with its floor
 * within the same run (the machine is shared and noisy; same-run ratios are what hold).
 *
 * @module
 */

import type { Pool } from "../mod.ts";

/** The pool's public module, when it could be loaded. */
export type Seed = typeof import("../mod.ts");

/** What every workload is built with. */
export interface Env {
  /** Reduced sizes, one run: a smoke test, not figures. */
  readonly quick: boolean;
  /** The pool's module, or undefined (then `seedMissing` says why). */
  readonly seed: Seed | undefined;
  readonly seedMissing: string;
}

/** The unit of a row; it decides the formatting and whether higher is better. */
export type Unit = "µs/task" | "items/s" | "ms" | "×" | "MiB";

/** One printed row of a workload. */
export interface RowSpec {
  /** The key of the value in each run's record. */
  readonly key: string;
  readonly label: string;
  readonly unit: Unit;
  /** The row this one is read against in each run (its floor), by key. */
  readonly ratioTo?: string;
  readonly note?: string;
}

/** One part of a workload: a pool or a floor variant, with its own resources. */
export interface Step {
  /** The values this step produces, including values derived from them; skipped together. */
  readonly keys: readonly string[];
  /** Needs the pool's module (skipped while there is none). */
  readonly needsPool?: boolean;
  /** Measures a feature that may not exist yet: any failure but a wrong result is "n/a". */
  readonly optional?: boolean;
  setup?(): Promise<void>;
  run(): Promise<Record<string, number>>;
  teardown?(): Promise<void> | void;
}

/** The steps of one open workload, and how values are derived from theirs. */
export interface OpenWorkload {
  readonly steps: readonly Step[];
  /** Values computed from each run's raw values (speedups, net times). */
  derive?(values: Record<string, number>): Record<string, number>;
}

/** A workload of BENCH.md. */
export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly rows: readonly RowSpec[];
  open(env: Env): Promise<OpenWorkload>;
}

/** A result was wrong: the bench stops, since its figures would mean nothing. */
export class WrongResultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WrongResultError";
  }
}

/** Throws `WrongResultError` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new WrongResultError(message);
}

/** A row's figures after all runs. */
export interface RowResult {
  readonly workload: string;
  readonly key: string;
  readonly label: string;
  readonly unit: Unit;
  readonly note?: string;
  /** One value per timed run that measured it. */
  readonly values: number[];
  readonly median?: number;
  readonly min?: number;
  readonly max?: number;
  /** This row's cost ÷ its reference's cost, per run, and their median. */
  readonly ratio?: { readonly to: string; readonly values: number[]; readonly median: number };
  /** Why the row has no values, or fewer than the runs (a step that failed part-way). */
  readonly skipped?: string;
}

/** What one workload produced. */
export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly rows: RowResult[];
  /** Every value of every run, printed or not (absolute times behind net ones, …). */
  readonly runs: Record<string, number>[];
}

/** Runs a workload: setup, warm-ups, timed runs, teardown. */
export async function measure(
  workload: Workload,
  env: Env,
  options: { warmups: number; runs: number; log: (line: string) => void },
): Promise<WorkloadResult> {
  // An optional step (a feature that may be unfinished) gets this long per setup or run.
  const optionalTimeoutMs = env.quick ? 30_000 : 180_000;
  const skipped = new Map<string, string>();
  const skip = (step: Step, reason: string) => {
    for (const key of step.keys) if (!skipped.has(key)) skipped.set(key, reason);
  };
  const active = (step: Step) => step.keys.every((key) => !skipped.has(key));
  const attempt = async (step: Step, action: () => Promise<void>) => {
    try {
      await (step.optional ? guardUncaught(action, optionalTimeoutMs) : action());
    } catch (error) {
      if (error instanceof WrongResultError || !step.optional) throw error;
      skip(step, describeError(error));
    }
  };

  const opened = await workload.open(env);
  const runs: Record<string, number>[] = [];
  try {
    for (const step of opened.steps) {
      if (step.needsPool && !env.seed) skip(step, env.seedMissing);
      else if (step.setup) await attempt(step, () => step.setup!());
    }
    const total = options.warmups + options.runs;
    for (let run = 0; run < total; run++) {
      const warmup = run < options.warmups;
      options.log(
        `${workload.id} ${warmup ? "warm-up" : `run ${run - options.warmups + 1}/${options.runs}`}`,
      );
      const order = run % 2 === 0 ? opened.steps : [...opened.steps].reverse();
      const values: Record<string, number> = {};
      for (const step of order) {
        if (!active(step)) continue;
        await attempt(step, async () => void Object.assign(values, await step.run()));
      }
      Object.assign(values, opened.derive?.(values));
      if (!warmup) runs.push(values);
    }
  } finally {
    for (const step of opened.steps) {
      try {
        await step.teardown?.();
      } catch (error) {
        options.log(`${workload.id}: teardown failed: ${describeError(error)}`);
      }
    }
  }

  const rows = workload.rows.map((spec): RowResult => {
    const values = runs.map((run) => run[spec.key]).filter((v): v is number => v !== undefined);
    const base = { workload: workload.id, ...spec, values };
    if (values.length === 0) {
      return { ...base, skipped: skipped.get(spec.key) ?? "not measured" };
    }
    const stopped = skipped.get(spec.key);
    const result: RowResult = {
      ...base,
      // A step that failed after some runs keeps its figures, and says why the rest are missing.
      ...(stopped === undefined ? {} : { skipped: stopped }),
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
    };
    if (spec.ratioTo === undefined) return result;
    const reference = workload.rows.find((row) => row.key === spec.ratioTo);
    if (!reference) throw new Error(`${workload.id}: row '${spec.key}' compares with no row`);
    const ratios: number[] = [];
    for (const run of runs) {
      const mine = run[spec.key];
      const theirs = run[spec.ratioTo];
      if (mine !== undefined && theirs !== undefined) {
        ratios.push(cost(mine, spec.unit) / cost(theirs, reference.unit));
      }
    }
    if (ratios.length === 0) return result;
    return { ...result, ratio: { to: spec.ratioTo, values: ratios, median: median(ratios) } };
  });
  return { id: workload.id, title: workload.title, rows, runs };
}

/**
 * Runs `action`, failing it (instead of the whole process) if an error goes uncaught
 * meanwhile, or if it does not finish in time: an unfinished feature may throw from a
 * callback of its own, and its promise would then never settle.
 */
async function guardUncaught(action: () => Promise<void>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onError!: (event: ErrorEvent) => void;
  let onRejection!: (event: PromiseRejectionEvent) => void;
  const uncaught = new Promise<never>((_, reject) => {
    onError = (event) => {
      event.preventDefault();
      reject(event.error ?? new Error(event.message));
    };
    onRejection = (event) => {
      event.preventDefault();
      reject(event.reason);
    };
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
  });
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  try {
    await Promise.race([action(), uncaught]);
  } finally {
    clearTimeout(timer);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
}

/** Higher-is-better units become costs, so that every ratio reads "times the floor's cost". */
function cost(value: number, unit: Unit): number {
  return unit === "items/s" || unit === "×" ? 1 / value : value;
}

/** The median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `Name: message` of anything thrown, on one line. */
export function describeError(error: unknown): string {
  const text = !(error instanceof Error)
    ? String(error)
    : error.name === "Error"
    ? error.message
    : `${error.name}: ${error.message}`;
  return text.split("\n")[0]!;
}

/** How long a pool gets to drain after `close()` before it is terminated. */
const DRAIN_MS = 10_000;

/**
 * Closes a pool gracefully (close, then join), and terminates it if it does not drain in
 * time (a skipped step may have left work that never ends): the bench must not hang.
 */
export async function closePool(pool: Pool | undefined): Promise<void> {
  if (!pool) return;
  pool.close();
  if (await within(pool.join(), DRAIN_MS)) return;
  await within(pool.terminate(), DRAIN_MS);
}

/** Whether `promise` settled within `ms` (a rejection counts as settled). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds taken by `action`. */
export async function time<T>(action: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await action();
  return { ms: performance.now() - start, value };
}
