/**
 * What `pool map` and `pool apply` write: one JSON record per input line, and a buffered
 * writer that sends them out in large writes (one per line would make the pipe the
 * bottleneck).
 *
 * Records:
 * - a result: `{"result": …}`, or `{"line": N, "result": …}` when lines may be out of order;
 * - a failure: `{"error": {"name": …, "message": …}, "input": …, "line": N}`.
 *
 * @module
 */

import { TaskError } from "../mod.ts";

/** The `error` member of a failure record. */
export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
}

/**
 * The name and message a user wants to see for a failed call: for a task's own error, the
 * original error's (`RangeError: too big`), not the pool's wrapper; for the pool's errors
 * (`TimeoutError`, `WorkerCrashError`, …), their own.
 *
 * @example
 * ```ts
 * import { errorInfo } from "./output.ts";
 * import { TaskError } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new TaskError("too big", { cause: new RangeError("too big") });
 * assert.deepEqual(errorInfo(error), { name: "RangeError", message: "too big" });
 * ```
 */
export function errorInfo(error: unknown): ErrorInfo {
  const shown = error instanceof TaskError && error.cause !== undefined ? error.cause : error;
  if (shown instanceof Error || isErrorLike(shown)) {
    const { name, message } = shown as Error;
    return { name: String(name), message: String(message) };
  }
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: typeof shown === "string" ? shown : toJson(shown) };
}

function isErrorLike(value: unknown): boolean {
  return typeof value === "object" && value !== null && "name" in value && "message" in value;
}

/**
 * JSON text of a value, extended where JSON has no form: `undefined` → `null`, a BigInt →
 * an exact integer literal, Map → object (or entry list when keys are not strings),
 * Set and typed arrays → arrays, an Error → `{name, message}`.
 *
 * @throws {TypeError} for values JSON cannot hold at all (circular structures).
 *
 * @example
 * ```ts
 * import { toJson } from "./output.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(toJson(new Map([["a", 1n]])), '{"a":1}');
 * assert.equal(toJson(new Set([1, 2])), "[1,2]");
 * assert.equal(toJson(undefined), "null");
 * assert.equal(toJson(2n ** 64n), "18446744073709551616");
 * ```
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, replacer) ?? "null";
}

/** V8's `JSON.rawJSON` (not yet in TypeScript's lib): an exact number literal for a BigInt. */
const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return rawJson(value.toString());
  if (value === undefined || typeof value !== "object" || value === null) return value;
  if (value instanceof Map) {
    const keys = [...value.keys()];
    return keys.every((k) => typeof k === "string") ? Object.fromEntries(value) : [...value];
  }
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<unknown>);
  }
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/**
 * A result record. `line` is included when given (unordered output).
 *
 * @throws {TypeError} when the result cannot be written as JSON.
 */
export function resultRecord(result: unknown, line?: number): string {
  const json = toJson(result);
  return line === undefined ? `{"result":${json}}` : `{"line":${line},"result":${json}}`;
}

/**
 * A failure record: the error, the line's input (its value, or its text when it was not
 * JSON) and its line number.
 *
 * @example
 * ```ts
 * import { errorRecord } from "./output.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   errorRecord({ name: "RangeError", message: "too big" }, 7, 3),
 *   '{"error":{"name":"RangeError","message":"too big"},"input":7,"line":3}',
 * );
 * ```
 */
export function errorRecord(error: ErrorInfo, input: unknown, line: number): string {
  let inputJson: string;
  try {
    inputJson = toJson(input);
  } catch {
    inputJson = "null";
  }
  return `{"error":${
    JSON.stringify({ name: error.name, message: error.message })
  },"input":${inputJson},"line":${line}}`;
}

/** Buffers bytes reach this size before a write is started. */
const FLUSH_BYTES = 64 * 1024;

/**
 * Writes lines to a stream in large writes. `write` only buffers; `flush` sends the buffer
 * and waits for the stream, which is where a slow reader slows the run down.
 *
 * @example
 * ```ts
 * import { LineWriter } from "./output.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks: Uint8Array[] = [];
 * const writer = new LineWriter(new WritableStream({ write: (c) => void chunks.push(c) }));
 * writer.write('{"result":1}');
 * writer.write('{"result":2}');
 * await writer.close();
 * const text = new TextDecoder().decode(chunks[0]);
 * assert.equal(text, '{"result":1}\n{"result":2}\n');
 * ```
 */
export class LineWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  #lines: string[] = [];
  #size = 0;
  #lineCount = 0;
  /** The last write handed to the stream (writes complete in order). */
  #inFlight: Promise<void> = Promise.resolve();

  /** Takes the stream's writer until `close()`. */
  constructor(stream: WritableStream<Uint8Array>) {
    this.#writer = stream.getWriter();
  }

  /** Lines handed to `write` so far. */
  get lineCount(): number {
    return this.#lineCount;
  }

  /** Whether the buffer is big enough to be worth a write. */
  get full(): boolean {
    return this.#size >= FLUSH_BYTES;
  }

  /** Buffers one line (a newline is added). */
  write(line: string): void {
    this.#lines.push(line);
    this.#size += line.length + 1;
    this.#lineCount++;
  }

  /**
   * Writes what is buffered and waits until the stream took it, and every write before it:
   * a flush started by a timer and not awaited must still be done before `close()` lets go
   * (the process may exit right after, and with it a pipe write still on its way).
   */
  async flush(): Promise<void> {
    if (this.#lines.length > 0) {
      const text = this.#lines.join("\n") + "\n";
      this.#lines = [];
      this.#size = 0;
      const written = this.#writer.write(this.#encoder.encode(text));
      this.#inFlight = written.catch(() => {}); // its own caller handles its failure
      await written;
      return;
    }
    await this.#inFlight;
  }

  /**
   * Flushes, then closes the stream (`close: true`, for files) or only lets it go (for
   * stdout, which others may still write to).
   */
  async close(options: { close?: boolean } = { close: true }): Promise<void> {
    try {
      await this.flush();
    } finally {
      if (options.close ?? true) await this.#writer.close().catch(() => {});
      else this.#writer.releaseLock();
    }
  }
}
