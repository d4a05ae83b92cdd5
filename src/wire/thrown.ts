/**
 * The plain-data form in which a worker sends a thrown value back (custom Error classes and
 * fields do not survive `postMessage`), and how this thread rebuilds it.
 *
 * @module
 */

import { describe } from "../util/_describe.ts";

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

/** The message a caller sees for a thrown value: its own, or what it is. */
export function thrownMessage(data: ThrownData): string {
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
