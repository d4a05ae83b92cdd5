/**
 * JSON lines in, one value at a time: the input is decoded and split as it streams, so a
 * file of any size is read in the memory of its longest line. Each line keeps its number, so
 * a malformed line is reported where it is, and a run can resume after a given line.
 *
 * @module
 */

/** One input line: its value, or why it is not JSON. `line` counts from 1. */
export type JsonLine =
  | { readonly line: number; readonly ok: true; readonly value: unknown }
  | { readonly line: number; readonly ok: false; readonly text: string; readonly error: Error };

/** Options of {@linkcode readJsonLines}. */
export interface ReadJsonLinesOptions {
  /** Lines to pass over unread (not even parsed) at the start, as `--skip N`. Default 0. */
  readonly skip?: number;
}

/**
 * Reads JSON lines from a byte stream. Blank lines are passed over (they are not input),
 * a `\r` before the newline and a leading byte order mark are dropped, and a line that is
 * not JSON is yielded as `{ ok: false }` with its text and the parser's error.
 * Stopping the iteration early cancels the stream.
 *
 * @param stream The bytes, for example `Deno.stdin.readable` or an opened file's `readable`.
 * @param options Where to start.
 * @returns The lines, in order, with their numbers.
 *
 * @example
 * ```ts
 * import { readJsonLines } from "./jsonl.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('1\n{"a": 2}\n\nnot json\r\n[3]');
 * const lines = [];
 * for await (const line of readJsonLines(ReadableStream.from([bytes]))) lines.push(line);
 * assert.deepEqual(lines.map((l) => [l.line, l.ok]), [[1, true], [2, true], [4, false], [5, true]]);
 * assert.deepEqual(lines[1], { line: 2, ok: true, value: { a: 2 } });
 * ```
 */
export async function* readJsonLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadJsonLinesOptions = {},
): AsyncGenerator<JsonLine, void, undefined> {
  const skip = options.skip ?? 0;
  const decoder = new TextDecoder("utf-8", { ignoreBOM: false });
  const reader = stream.getReader();
  let lineNumber = 0;
  let partial = "";
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      let newline = text.indexOf("\n");
      while (newline !== -1) {
        lineNumber++;
        // Only a line cut by a chunk boundary is joined; whole lines are sliced directly.
        const raw = partial === ""
          ? text.slice(start, newline)
          : partial + text.slice(start, newline);
        partial = "";
        if (lineNumber > skip) {
          const parsed = parseLine(raw, lineNumber);
          if (parsed) yield parsed;
        }
        start = newline + 1;
        newline = text.indexOf("\n", start);
      }
      if (start < text.length) partial += text.slice(start);
      if (done) break;
    }
    if (partial !== "") {
      lineNumber++;
      if (lineNumber > skip) {
        const parsed = parseLine(partial, lineNumber);
        if (parsed) yield parsed;
      }
    }
    finished = true;
  } finally {
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
}

function parseLine(raw: string, line: number): JsonLine | null {
  const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (text.trim() === "") return null;
  try {
    return { line, ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { line, ok: false, text, error: error as Error };
  }
}

/**
 * Counts the lines that hold something (as {@linkcode readJsonLines} yields them) after the
 * first `skip` lines of a file, reading it in chunks. Used to show a total while the same
 * file streams through the pool.
 *
 * @param path The file.
 * @param skip Lines at the start that are not counted.
 * @param signal Stops counting; the promise then resolves `undefined`.
 * @returns The count, or `undefined` when stopped.
 *
 * @example
 * ```ts
 * import { countJsonLines } from "./jsonl.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "1\n\n2\n3");
 * assert.equal(await countJsonLines(path, 1), 2);
 * await Deno.remove(path);
 * ```
 */
export async function countJsonLines(
  path: string,
  skip = 0,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const NEWLINE = 10, CR = 13, SPACE = 32, TAB = 9;
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  let line = 1;
  let hasContent = false;
  let count = 0;
  while (true) {
    if (signal?.aborted) return undefined;
    const read = await file.read(buffer);
    if (read === null) break;
    for (let i = 0; i < read; i++) {
      const byte = buffer[i]!;
      if (byte === NEWLINE) {
        if (hasContent && line > skip) count++;
        hasContent = false;
        line++;
      } else if (byte !== CR && byte !== SPACE && byte !== TAB) {
        hasContent = true;
      }
    }
  }
  if (hasContent && line > skip) count++;
  return count;
}
