/**
 * Length-prefixed frames on a byte stream, as process workers and their pool exchange
 * them. Both ends write and read with this. A frame is a 6-byte header, then its payload:
 *
 * - a marker byte, {@link FRAME_MARKER} (0xF9: never a byte of UTF-8 text, so text that a
 *   task writes to the stream is told from a frame by its very first byte);
 * - the payload's length, 4 bytes little-endian (at most {@link MAX_FRAME_BYTES});
 * - a check byte derived from the length, so stray binary bytes that happen to start with
 *   the marker are still caught by their header, not read as a huge length to wait for;
 * - the payload: a kind byte, then the message.
 *
 * A stream that breaks any of these is corrupt from there on: the decoder says so at once
 * (see {@link FrameDecoder.corruption}) instead of waiting for a frame that never ends.
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

/** The first byte of every frame. */
export const FRAME_MARKER = 0xf9;
/** Marker, length and check byte. */
export const HEADER_BYTES = 6;
/** How many stray bytes a corruption report quotes. */
const QUOTED_BYTES = 40;

/** The header's check byte for a payload of `length` bytes. */
function headerCheck(length: number): number {
  return (length ^ (length >>> 8) ^ (length >>> 16) ^ (length >>> 24) ^ 0xa7) & 0xff;
}

/** Collects chunks and hands out each complete frame's payload. */
export class FrameDecoder {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #corruption: string | null = null;

  /**
   * What was wrong with the stream, once it turned out corrupt (bytes that are not a
   * frame, quoted); null while it is sound. A corrupt decoder takes no more chunks.
   */
  get corruption(): string | null {
    return this.#corruption;
  }

  /**
   * Adds a chunk and calls `onFrame` with each complete payload: a view of this decoder's
   * buffer, valid until the next `push` (decode it before then; {@link decodeFrame} copies
   * what it keeps). Throws a RangeError as soon as the stream holds bytes that cannot begin
   * a frame (after handing out the frames before them), and for every chunk after that; an
   * error from `onFrame` stops the chunk there and propagates.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    if (this.#corruption !== null) throw new RangeError(this.#corruption);
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
    const buffer = this.#buffer;
    while (this.#end > this.#start) {
      const at = this.#start;
      // Checked on the first byte, so stray text is caught before its length is read.
      if (buffer[at] !== FRAME_MARKER) this.#corrupt(at);
      if (this.#end - at < HEADER_BYTES) break;
      const length = (buffer[at + 1]! | buffer[at + 2]! << 8 | buffer[at + 3]! << 16 |
        buffer[at + 4]! << 24) >>> 0;
      if (buffer[at + 5] !== headerCheck(length) || length === 0 || length > MAX_FRAME_BYTES) {
        this.#corrupt(at);
      }
      if (this.#end - at - HEADER_BYTES < length) break;
      const payload = buffer.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
      this.#start = at + HEADER_BYTES + length;
      onFrame(payload);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #corrupt(at: number): never {
    // Quoted up to the next marker, where the worker's next frame most likely begins.
    let strayEnd = this.#buffer.indexOf(FRAME_MARKER, at + 1);
    if (strayEnd === -1 || strayEnd > this.#end) strayEnd = this.#end;
    const stray = this.#buffer.subarray(at, Math.min(strayEnd, at + QUOTED_BYTES));
    const more = strayEnd - at > QUOTED_BYTES ? "…" : "";
    this.#corruption = `bytes that are not a frame: ` +
      `${JSON.stringify(new TextDecoder().decode(stray))}${more}`;
    this.#start = this.#end = 0;
    throw new RangeError(this.#corruption);
  }

  /**
   * Adds a chunk and resolves with the messages of its complete frames, loading `node:v8`
   * first when one needs it. On a corrupt stream, or a frame that cannot be read, it
   * resolves with the messages before that point and sets {@link corruption}.
   */
  async messages(chunk: Uint8Array): Promise<unknown[]> {
    const payloads: Uint8Array[] = [];
    if (this.#corruption !== null) return payloads;
    try {
      this.push(chunk, (payload) => payloads.push(payload));
    } catch {
      // corruption is set; the frames before it still count
    }
    const messages: unknown[] = [];
    for (const payload of payloads) {
      if (needsV8(payload)) await loadV8();
      try {
        messages.push(decodeFrame(payload));
      } catch (error) {
        this.#corruption = `a frame that cannot be read (${(error as Error).message})`;
        this.#start = this.#end = 0;
        break;
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
 * A message as one frame: header, a kind byte, then the message in the simple encoding when
 * it allows (small, plain data: most messages), else in `node:v8` serialization
 * (structured-clone semantics, ~20 µs a message in Deno 2.9). Returns null when the message
 * needs `node:v8` and it has not loaded yet (see {@link FrameWriter}). Throws what
 * `serialize` throws for a value that cannot be cloned.
 */
export function encodeFrame(message: unknown): Uint8Array | null {
  const end = encodeSimple(message, scratch, HEADER_BYTES + 1, scratch.byteLength);
  if (end > 0) {
    writeHeader(scratch, end - HEADER_BYTES);
    scratch.setUint8(HEADER_BYTES, SIMPLE);
    return new Uint8Array(scratch.buffer.slice(0, end));
  }
  if (v8 === undefined) return null;
  const payload = v8.serialize(message) as unknown as Uint8Array;
  const frame = new Uint8Array(HEADER_BYTES + 1 + payload.length);
  const view = new DataView(frame.buffer);
  writeHeader(view, payload.length + 1);
  view.setUint8(HEADER_BYTES, V8_KIND);
  frame.set(payload, HEADER_BYTES + 1);
  return frame;
}

function writeHeader(view: DataView, payloadLength: number): void {
  if (payloadLength > MAX_FRAME_BYTES) {
    throw new RangeError(
      `Cannot send a message of ${payloadLength} bytes to or from a process worker: the ` +
        `limit is ${MAX_FRAME_BYTES} bytes`,
    );
  }
  view.setUint8(0, FRAME_MARKER);
  view.setUint32(1, payloadLength, true);
  view.setUint8(5, headerCheck(payloadLength));
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
