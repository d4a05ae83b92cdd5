import assert from "node:assert/strict";
import fc from "fast-check";
import { Pool, taskModule, WorkerCrashError } from "../mod.ts";
import {
  decodeFrame,
  encodeFrame,
  FRAME_MARKER,
  FrameDecoder,
  HEADER_BYTES,
  MAX_FRAME_BYTES,
} from "../src/wire/_frames.ts";
import { fixture } from "./_isolation.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(fixture("math.ts"));

Deno.test("Pool process isolation: large arguments and results cross the stdio frames", async () => {
  await using pool = new Pool({ size: 2, isolation: "process" });
  const big = new Uint8Array(5 * 1024 * 1024).map((_, i) => i % 251);
  const sums = await pool.map(
    (bytes: Uint8Array) => {
      let sum = 0;
      for (const byte of bytes) sum += byte;
      return { sum, echo: bytes };
    },
    [big, big.subarray(1), big.subarray(2)],
    { chunksize: 1 },
  );
  assert.equal(sums.length, 3);
  assert.deepEqual(sums[0]!.echo, big);
  const sum = (bytes: Uint8Array) => bytes.reduce((a, x) => a + x, 0);
  assert.deepEqual(sums.map((s) => s.sum), [sum(big), sum(big.subarray(1)), sum(big.subarray(2))]);
  assert.deepEqual(sums[2]!.echo, big.subarray(2));
});

Deno.test("Pool process isolation: transfer copies the data and detaches the caller's buffer", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const buffer = new Float64Array([1.5, 2.5]).buffer;
  const total = await pool.apply(
    (b: ArrayBuffer) => new Float64Array(b).reduce((a, x) => a + x, 0),
    [buffer],
    { transfer: [buffer] },
  );
  assert.equal(total, 4);
  assert.equal(buffer.byteLength, 0); // detached, as postMessage would leave it
});

Deno.test("Pool process isolation: console output and stdout writes do not break the protocol", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const noisy = (x: number) => {
    console.log("log from a task");
    console.info("info from a task");
    Deno.stdout.writeSync(new TextEncoder().encode("raw stdout from a task\n"));
    return x * 2;
  };
  assert.deepEqual(await pool.map(noisy, [1, 2, 3]), [2, 4, 6]);
});

Deno.test("Pool process isolation: a task that corrupts stdout kills only its worker", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const corrupt = async () => {
    const fs = await import("node:fs");
    fs.writeSync(1, "\xff\xff\xff\xffgarbage");
    return await new Promise(() => {});
  };
  const error = await pool.apply(corrupt).catch((e) => e);
  assert.ok(error instanceof WorkerCrashError, String(error));
  assert.match(error.message, /outside the pool's frames/);
  assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
});

Deno.test(
  "Pool process isolation: a task module first used after other tasks still loads without read access",
  async () => {
    await using pool = new Pool({ size: 1, isolation: "process", permissions: "none" });
    const slow = (x: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x), 100));
    // The module arrives while the worker has a task in hand: it is restarted after it.
    const [first, squared] = await Promise.all([
      pool.apply(slow, [7]),
      pool.apply(math.add, [2, 3]),
    ]);
    assert.equal(first, 7);
    assert.equal(squared, 5);
  },
);

Deno.test("Pool process isolation: a worker has exactly the listed env variable", async () => {
  await using pool = new Pool({ size: 1, isolation: "process", permissions: { env: ["HOME"] } });
  const [home, net] = await pool.apply(() => [
    Deno.permissions.querySync({ name: "env", variable: "HOME" }).state,
    Deno.permissions.querySync({ name: "net" }).state,
  ]);
  assert.equal(home, "granted");
  assert.notEqual(net, "granted"); // and --no-prompt: nothing can be asked for later
});

Deno.test("process frames: a message that needs node:v8 waits for it to load, in order", async () => {
  // A process of its own: node:v8 is loaded lazily, once per process.
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", decodeURIComponent(fixture("frames_lazy.ts").pathname)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.deepEqual(report.before, { needsV8: true });
  // The plain message went at once; the Map waits for node:v8, and what follows waits too.
  assert.deepEqual(report.writtenBeforeLoad, [["plain", 1]]);
  assert.equal(report.unclonable, "DataCloneError");
  assert.deepEqual(report.written, [["plain", 1], { map: [["k", 1]] }, ["after", 3]]);
});

Deno.test("Pool process isolation: every console method writes to stderr, never to the frames", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", decodeURIComponent(fixture("console_to_stderr.ts").pathname)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { result: "done" });
  for (
    const line of [
      "log-line",
      "info-line",
      "debug-line",
      '{ dir: "line" }',
      "dirxml-line",
      "table",
      "count-line: 1",
      "timer-line: ",
      "logged",
      "group-line",
      "  indented-line",
      "collapsed-line",
      "deno-stdout-line",
      "deno-stdout-async-line",
      "deno-writable-line",
      "node-process-line",
    ]
  ) {
    assert.ok(stderr.includes(line), `${JSON.stringify(line)} is not on stderr:\n${stderr}`);
  }
});

/** Every frame's payload decoded, pushed in `chunks`; and the error that stopped it, if any. */
function decodeAll(chunks: Uint8Array[]): { messages: unknown[]; error: Error | null } {
  const decoder = new FrameDecoder();
  const messages: unknown[] = [];
  try {
    for (const chunk of chunks) {
      decoder.push(chunk, (payload) => messages.push(decodeFrame(payload)));
    }
  } catch (error) {
    return { messages, error: error as Error };
  }
  return { messages, error: null };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("FrameDecoder cuts frames the same however the stream is split", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (values, cuts) => {
        const stream = concat(...values.map((value) => encodeFrame(value)!));
        const points = [...new Set(cuts.map((cut) => cut % stream.length))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((from, i) =>
          stream.subarray(from, points[i] ?? stream.length)
        );
        const { messages, error } = decodeAll(chunks);
        assert.equal(error, null);
        assert.deepStrictEqual(messages, values.map((value) => structuredClone(value)));
      },
    ),
  );
});

Deno.test("FrameDecoder detects stray text at its first byte, after the frames before it", () => {
  const { messages, error } = decodeAll([concat(encodeFrame(["before", 1])!, text("sum 12\n"))]);
  assert.deepEqual(messages, [["before", 1]]);
  assert.ok(error instanceof RangeError);
  assert.match(error.message, /not a frame: "sum 12\\n"/);
  // One byte is enough: nothing waits for a header to complete.
  assert.match(decodeAll([text("\n")]).error?.message ?? "", /"\\n"/);
  // A stream that went wrong stays wrong, even if a good frame follows.
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.push(text("x"), () => {}), RangeError);
  assert.throws(() => decoder.push(encodeFrame(1)!, () => assert.fail("decoded")), RangeError);
});

Deno.test("FrameDecoder rejects a header whose check byte or length is wrong, without waiting", () => {
  const frame = encodeFrame("hello")!;
  const badCheck = frame.slice(0, HEADER_BYTES);
  badCheck[HEADER_BYTES - 1]! ^= 1;
  assert.match(decodeAll([badCheck]).error?.message ?? "", /not a frame/);
  const huge = new Uint8Array(HEADER_BYTES);
  const view = new DataView(huge.buffer);
  view.setUint8(0, FRAME_MARKER);
  for (const length of [0, MAX_FRAME_BYTES + 1, 0xffffffff]) {
    view.setUint32(1, length, true);
    // Every check byte: only the length bound can refuse it.
    for (let check = 0; check < 256; check++) {
      view.setUint8(5, check);
      assert.notEqual(decodeAll([huge]).error, null, `length ${length}, check ${check}`);
    }
  }
});

Deno.test("FrameDecoder.messages() keeps the messages before a corruption and names it", async () => {
  const decoder = new FrameDecoder();
  const messages = await decoder.messages(concat(encodeFrame([1, 2])!, text("oops")));
  assert.deepEqual(messages, [[1, 2]]);
  assert.match(decoder.corruption ?? "", /not a frame: "oops"/);
  assert.deepEqual(await decoder.messages(encodeFrame(3)!), []);
  const unreadable = encodeFrame("abc")!.slice();
  unreadable[HEADER_BYTES] = 99; // an unknown kind
  const other = new FrameDecoder();
  assert.deepEqual(await other.messages(concat(encodeFrame(0)!, unreadable)), [0]);
  assert.match(other.corruption ?? "", /cannot be read/);
});
