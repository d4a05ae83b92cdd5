/**
 * Length-prefixed frames on a byte stream, as process workers and their pool exchange
 * them: a 4-byte little-endian length, then that many bytes. Both ends write and read with
 * this.
 *
 * @module
 */

import { decodeSimple, encodeSimple } from "./_simple_codec.ts";

type V8 = typeof import("node:v8");
/** `node:v8`, once loaded: only for what the simple encoding declines (see {@link loadV8}). */
let v8: V8 | undefined;
let v8Loading: Promise<V8> | undefined;

/**
 * Loads `node:v8`. It costs about 14 ms the first time in a process (Deno's Node
 * compatibility layer), so it is loaded only when a frame needs it, never at import: a
 * program that imports the pool but no process worker, and a process worker that only ever
 * sees plain data, never pay it.
 */
export function loadV8(): Promise<V8> {
  return v8Loading ??= import("node:v8").then((module) => v8 = module);
}

/** Frames larger than this are a corrupted stream, not a message. */
export const MAX_FRAME_BYTES = 1 << 30;

/** Collects chunks and hands out each complete frame's payload. */
export class FrameDecoder {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  /**
   * Adds a chunk and calls `onFrame` with each complete payload: a view of this decoder's
   * buffer, valid until the next `push` (decode it before then; {@link decodeFrame} copies
   * what it keeps). Throws a RangeError for a length over {@link MAX_FRAME_BYTES} (a corrupt
   * stream); an error from `onFrame` stops the chunk there and propagates.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    if (this.#end + chunk.length > this.#buffer.length) {
      const pending = this.#end - this.#start;
      const size = Math.max(this.#buffer.length, (pending + chunk.length) * 2);
      const grown = size > this.#buffer.length ? new Uint8Array(size) : this.#buffer;
      grown.set(this.#buffer.subarray(this.#start, this.#end), 0);
      this.#buffer = grown;
      this.#start = 0;
      this.#end = pending;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
    while (this.#end - this.#start >= 4) {
      const buffer = this.#buffer;
      const length = new DataView(buffer.buffer, buffer.byteOffset + this.#start, 4)
        .getUint32(0, true);
      if (length > MAX_FRAME_BYTES) throw new RangeError(`a frame of ${length} bytes`);
      if (this.#end - this.#start - 4 < length) break;
      const payload = buffer.subarray(this.#start + 4, this.#start + 4 + length);
      this.#start += 4 + length;
      onFrame(payload);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Adds a chunk and resolves with the messages of its complete frames, loading `node:v8`
   * first when one needs it. Rejects with a RangeError for a corrupt stream or a frame that
   * cannot be read.
   */
  async messages(chunk: Uint8Array): Promise<unknown[]> {
    const payloads: Uint8Array[] = [];
    this.push(chunk, (payload) => payloads.push(payload));
    const messages: unknown[] = [];
    for (const payload of payloads) {
      if (needsV8(payload)) await loadV8();
      try {
        messages.push(decodeFrame(payload));
      } catch (error) {
        throw new RangeError(`a frame that cannot be read (${(error as Error).message})`);
      }
    }
    return messages;
  }
}

/** The scratch a message is encoded into before its frame is cut to size. */
const scratch = new DataView(new ArrayBuffer(64 * 1024));
const SIMPLE = 1;
const V8_KIND = 0;

/**
 * A message as one frame: length, a kind byte, then the message in the simple encoding when
 * it allows (small, plain data: most messages), else in `node:v8` serialization
 * (structured-clone semantics, ~20 µs a message in Deno 2.9). Returns null when the message
 * needs `node:v8` and it has not loaded yet (see {@link FrameWriter}). Throws what
 * `serialize` throws for a value that cannot be cloned.
 */
export function encodeFrame(message: unknown): Uint8Array | null {
  const end = encodeSimple(message, scratch, 5, scratch.byteLength);
  if (end > 0) {
    scratch.setUint32(0, end - 4, true);
    scratch.setUint8(4, SIMPLE);
    return new Uint8Array(scratch.buffer.slice(0, end));
  }
  if (v8 === undefined) return null;
  const payload = v8.serialize(message) as unknown as Uint8Array;
  const frame = new Uint8Array(5 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length + 1, true);
  view.setUint8(4, V8_KIND);
  frame.set(payload, 5);
  return frame;
}

/** Whether decoding this payload needs `node:v8` loaded first (see {@link loadV8}). */
export function needsV8(payload: Uint8Array): boolean {
  return payload[0] === V8_KIND && v8 === undefined;
}

/** The message in a frame's payload (as {@link FrameDecoder} hands it out). */
export function decodeFrame(payload: Uint8Array): unknown {
  if (payload[0] === SIMPLE) {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const cursor = { at: 1 };
    const message = decodeSimple(view, cursor);
    if (cursor.at !== payload.byteLength) throw new RangeError("trailing bytes in a frame");
    return message;
  }
  if (payload[0] === V8_KIND) {
    if (v8 === undefined) throw new Error("node:v8 is not loaded: await loadV8() first");
    // A copy: deserialized typed arrays are views of the bytes they are read from.
    return v8.deserialize(payload.slice(1));
  }
  throw new RangeError(`a frame of unknown kind ${payload[0]}`);
}

/**
 * Writes messages as frames, in order. A message that needs `node:v8` before it has loaded
 * waits for it, as a structured clone of itself (taken at once, so an uncloneable message
 * still throws at once, and later changes to it or its detached buffers do not matter),
 * and every message after it waits behind it.
 */
export class FrameWriter {
  readonly #write: (frame: Uint8Array) => void;
  #waiting: unknown[] | null = null;
  #flushed: Promise<void> = Promise.resolve();

  /** @param write Writes one frame (in order). */
  constructor(write: (frame: Uint8Array) => void) {
    this.#write = write;
  }

  /** Writes a message, or queues it until `node:v8` has loaded; throws DataCloneError. */
  send(message: unknown): void {
    if (this.#waiting === null) {
      const frame = encodeFrame(message);
      if (frame !== null) {
        this.#write(frame);
        return;
      }
      this.#waiting = [];
      this.#flushed = loadV8().then(() => this.#flush());
    }
    this.#waiting.push(structuredClone(message));
  }

  /** Whether some messages wait for `node:v8` (see {@link flushed}). */
  get waiting(): boolean {
    return this.#waiting !== null;
  }

  /** Resolves once every message sent so far has been written. */
  flushed(): Promise<void> {
    return this.#flushed;
  }

  #flush(): void {
    const waiting = this.#waiting ?? [];
    this.#waiting = null;
    for (const message of waiting) this.#write(encodeFrame(message)!);
  }
}
