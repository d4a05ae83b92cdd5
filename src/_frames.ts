/**
 * Length-prefixed frames on a byte stream, as process workers and their pool exchange
 * them: a 4-byte little-endian length, then that many bytes. Both ends read with this.
 *
 * @module
 */

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
