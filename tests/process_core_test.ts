import assert from "node:assert/strict";
import { Pool, taskModule, WorkerCrashError } from "../mod.ts";
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
  assert.match(error.message, /protocol/);
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
