/**
 * Length-prefixed frames on a byte stream, as process workers and their pool exchange
 * them: a 4-byte little-endian length, then that many bytes. Both ends write and read with
 * this.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import { decodeSimple, encodeSimple } from "./_simple_codec.ts";

/** Frames larger than this are a corrupted stream, not a message. */
export const MAX_FRAME_BYTES = 1 << 30;

/** Collects chunks and hands out each complete frame's payload. */
export class FrameDecoder {
  #buffer = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  /**
   * Adds a chunk and calls `onFrame` with each complete payload: a copy, since
   * deserialized typed arrays are views of the bytes they were read from and this buffer is
   * reused. Throws a RangeError for a length over {@link MAX_FRAME_BYTES} (a corrupt
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
      const payload = buffer.slice(this.#start + 4, this.#start + 4 + length);
      this.#start += 4 + length;
      onFrame(payload);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}

/** The scratch a message is encoded into before its frame is cut to size. */
const scratch = new DataView(new ArrayBuffer(64 * 1024));
const SIMPLE = 1;
const V8 = 0;

/**
 * A message as one frame: length, a kind byte, then the message in the simple encoding when
 * it allows (small, plain data: most messages), else in `node:v8` serialization
 * (structured-clone semantics, ~20 µs a message in Deno 2.9). Throws what `serialize`
 * throws for a value that cannot be cloned, before anything is written.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const end = encodeSimple(message, scratch, 5, scratch.byteLength);
  if (end > 0) {
    scratch.setUint32(0, end - 4, true);
    scratch.setUint8(4, SIMPLE);
    return new Uint8Array(scratch.buffer.slice(0, end));
  }
  const payload = serialize(message) as unknown as Uint8Array;
  const frame = new Uint8Array(5 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length + 1, true);
  view.setUint8(4, V8);
  frame.set(payload, 5);
  return frame;
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
  if (payload[0] === V8) return deserialize(payload.subarray(1));
  throw new RangeError(`a frame of unknown kind ${payload[0]}`);
}
