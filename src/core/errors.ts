/**
 * The pool's named errors, and the plain-data form in which a worker sends a thrown value
 * back (custom Error classes and fields do not survive `postMessage`).
 *
 * @module
 */

/**
 * A task threw (or rejected). `message` is the original message; `cause` is the original
 * error rebuilt in this thread with the same `name`, `message`, remote `stack` and own
 * fields such as `code`. A thrown non-Error value (a string, `null`, a plain object) is the
 * `cause` as it was thrown.
 *
 * @example Inspect the original error
 * ```ts
 * import { Pool, TaskError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const err = await pool.apply(() => {
 *   throw Object.assign(new RangeError("too big"), { code: "E_BIG" });
 * }).catch((e) => e);
 * assert.ok(err instanceof TaskError);
 * assert.equal(err.message, "too big");
 * assert.equal((err.cause as RangeError).name, "RangeError");
 * assert.equal((err.cause as { code: string }).code, "E_BIG");
 * ```
 */
export class TaskError extends Error {
  /** Creates a task error whose `cause` is what the task threw. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskError";
  }
}

/**
 * The worker running the task died: an uncaught error outside the task, an unhandled
 * rejection, `self.close()`, `Deno.exit()`, or (in process isolation) out of memory or a
 * signal. The pool replaces the worker; only the task that was running fails.
 *
 * @example
 * ```ts
 * import { Pool, WorkerCrashError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const err = await pool.apply(() => new Promise(() => self.close())).catch((e) => e);
 * assert.ok(err instanceof WorkerCrashError);
 * assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
 * ```
 */
export class WorkerCrashError extends Error {
  /** Creates a crash error; `cause` is the worker's uncaught error when there was one. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashError";
  }
}

/**
 * A call's `timeout` elapsed, or `AsyncResult.get(timeoutMs)` waited in vain.
 *
 * @example
 * ```ts
 * import { Pool, TimeoutError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(1);
 * const slow = () => new Promise((resolve) => setTimeout(resolve, 10_000));
 * await assert.rejects(pool.apply(slow, [], { timeout: 50 }), TimeoutError);
 * ```
 */
export class TimeoutError extends Error {
  /** Creates a timeout error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The pool no longer takes tasks (`close()` or `terminate()` was called), or the task was
 * still pending when `terminate()` ran.
 *
 * @example
 * ```ts
 * import { Pool, PoolClosedError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool(1);
 * pool.close();
 * await assert.rejects(pool.apply((x: number) => x, [1]), PoolClosedError);
 * await pool.join();
 * ```
 */
export class PoolClosedError extends Error {
  /** Creates a pool-closed error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/**
 * A submit found `maxQueue` tasks already waiting.
 *
 * @example
 * ```ts
 * import { Pool, QueueFullError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, maxQueue: 1 });
 * const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * const first = pool.apply(sleep, [50]);
 * const second = pool.apply(sleep, [50]);
 * await assert.rejects(pool.apply(sleep, [50]), QueueFullError);
 * await Promise.all([first, second]);
 * ```
 */
export class QueueFullError extends Error {
  /** Creates a queue-full error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueFullError";
  }
}

/**
 * Permissions were asked that cannot be enforced: more than this process has, or (in
 * `"worker"` isolation) Deno's `--unstable-worker-options` flag is missing. The task never
 * runs with broader rights than asked.
 *
 * @example
 * ```ts
 * import { PermissionError } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const err = new PermissionError("Cannot grant 'run': this process does not have it");
 * assert.ok(err instanceof Error);
 * assert.equal(err.name, "PermissionError");
 * ```
 */
export class PermissionError extends Error {
  /** Creates a permission error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PermissionError";
  }
}

/** How a worker reports a thrown value: plain, clone-safe data. */
export type ThrownData =
  | {
    readonly kind: "error";
    readonly name: string;
    readonly message: string;
    readonly stack: string | undefined;
    readonly fields: Record<string, unknown>;
    readonly cause?: ThrownData;
  }
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "unclonable"; readonly text: string };

/**
 * What went wrong with a task, as sent by a worker. `as` says which error the caller sees:
 * the task's own (`TaskError`), or a `TypeError` for a result that could not be cloned or an
 * inline function that cannot be compiled.
 */
export interface TaskFailure {
  readonly as: "task" | "type";
  readonly thrown: ThrownData;
  /** Set when an inline function read a variable that does not exist in the worker. */
  readonly missingVariable?: string;
  readonly functionName?: string;
}

const RESERVED_FIELDS = new Set(["name", "message", "stack", "cause"]);

/**
 * Turns anything thrown into clone-safe data; never throws. A thrown value is the task's
 * own and may be hostile: getters that throw, a revoked Proxy, a `toString` that throws.
 * Each part is read on its own, so what can be read is kept.
 */
export function toThrownData(thrown: unknown, depth = 0): ThrownData {
  try {
    if (isErrorObject(thrown)) return errorData(thrown as Error & Record<string, unknown>, depth);
    if (isClonable(thrown)) return { kind: "value", value: thrown };
  } catch {
    // Looking at it threw (a revoked Proxy): describe it as best as can be.
  }
  return { kind: "unclonable", text: describe(thrown) };
}

function errorData(error: Error & Record<string, unknown>, depth: number): ThrownData {
  const fields: Record<string, unknown> = {};
  for (const key of attempt(() => Object.keys(error), [])) {
    if (RESERVED_FIELDS.has(key)) continue;
    attempt(() => {
      const value = error[key];
      if (isClonable(value)) fields[key] = value;
    }, undefined);
  }
  const name = attempt(() => text(error.name, "Error"), "Error");
  let message: string;
  try {
    message = text(error.message, "");
  } catch (thrown) {
    const article = /^[aeiou]/i.test(name) ? "an" : "a";
    message = `Task threw ${article} ${name} whose 'message' cannot be read: ${reasonOf(thrown)}`;
  }
  const data: {
    kind: "error";
    name: string;
    message: string;
    stack: string | undefined;
    fields: Record<string, unknown>;
    cause?: ThrownData;
  } = {
    kind: "error",
    name,
    message,
    stack: attempt(() => typeof error.stack === "string" ? error.stack : undefined, undefined),
    fields,
  };
  const cause = attempt(() => error.cause, undefined);
  if (cause !== undefined && depth < 4) data.cause = toThrownData(cause, depth + 1);
  return data;
}

/** A field as text; `fallback` for null or undefined. Throws what `String` throws. */
function text(value: unknown, fallback: string): string {
  return value === undefined || value === null ? fallback : String(value);
}

/** `read()`, or `fallback` when reading throws. */
function attempt<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** What a thrown value says about itself, without trusting it: its message, or a description. */
export function reasonOf(thrown: unknown): string {
  try {
    const message = (thrown as { message?: unknown } | null)?.message;
    if (typeof message === "string") return message;
  } catch {
    // a message getter that throws, a revoked Proxy
  }
  return describe(thrown);
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds a thrown value in this thread: the same class where it is a built-in one. */
export function fromThrownData(data: ThrownData): unknown {
  switch (data.kind) {
    case "value":
      return data.value;
    case "unclonable":
      return data.text;
    case "error": {
      const Builtin = BUILTIN_ERRORS[data.name] ?? Error;
      const options = data.cause ? { cause: fromThrownData(data.cause) } : undefined;
      const error = new Builtin(data.message, options) as Error & Record<string, unknown>;
      if (error.name !== data.name) {
        Object.defineProperty(error, "name", {
          value: data.name,
          writable: true,
          configurable: true,
        });
      }
      if (data.stack !== undefined) error.stack = data.stack;
      Object.assign(error, data.fields);
      return error;
    }
  }
}

/** The error a caller sees for a failed task. */
export function toCallerError(failure: TaskFailure): Error {
  const cause = fromThrownData(failure.thrown);
  if (failure.missingVariable !== undefined) {
    const fn = failure.functionName ? `Task '${failure.functionName}'` : "An inline task function";
    return new TaskError(
      `${fn} uses '${failure.missingVariable}' from its outer scope, which does not exist ` +
        `in the worker: pass '${failure.missingVariable}' as an argument, or export the ` +
        `function from a task module (taskModule)`,
      { cause },
    );
  }
  if (failure.as === "type") return new TypeError(messageOf(failure.thrown), { cause });
  return new TaskError(messageOf(failure.thrown), { cause });
}

function messageOf(data: ThrownData): string {
  switch (data.kind) {
    case "error":
      return data.message;
    case "unclonable":
      return `Task threw a value that cannot be cloned: ${data.text}`;
    case "value": {
      const value = data.value;
      if (typeof value === "string") return value;
      if (value !== null && typeof value === "object" && "message" in value) {
        const message = (value as { message: unknown }).message;
        if (typeof message === "string") return message;
      }
      return `Task threw a non-Error value: ${describe(value)}`;
    }
  }
}

/** Throws for a revoked Proxy (or a Proxy whose traps throw). */
function isErrorObject(value: unknown): boolean {
  if (value instanceof Error) return true;
  if (value === null || typeof value !== "object") return false;
  // DOMException and errors from other realms are not `instanceof Error` everywhere.
  const tag = Object.prototype.toString.call(value);
  return tag === "[object Error]" || tag === "[object DOMException]";
}

function isClonable(value: unknown): boolean {
  if (value === null) return true;
  const type = typeof value;
  if (type === "function" || type === "symbol") return false;
  if (type !== "object") return true;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

/** A short, safe description of any value for messages; never throws. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 200 ? `${text.slice(0, 197)}...` : text;
  } catch {
    // circular or otherwise unprintable
  }
  try {
    return Object.prototype.toString.call(value);
  } catch {
    return typeof value === "function" ? "a function" : "an object that cannot be read";
  }
}
