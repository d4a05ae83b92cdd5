/**
 * The scheduling promise (no task waits behind another while a worker that may run it is
 * idle or could be started) and the calls that used to hang. Nothing here is timed: tasks
 * that must run side by side meet at a barrier (tests/fixtures/barrier.ts) and say whether
 * the others came.
 */
import assert from "node:assert/strict";
import { Pool, TaskError, taskModule, WorkerCrashError } from "../mod.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const barrier = taskModule<typeof import("./fixtures/barrier.ts")>(fixture("barrier.ts"));
const math = taskModule<typeof import("./fixtures/math.ts")>(fixture("math.ts"));

/** A fresh file for a barrier, removed by the returned disposer. */
async function barrierFile(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempFile({ prefix: "seed-pool-barrier-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path) };
}

/** Resolves once every worker the pool has is started and idle. */
async function allIdle(pool: Pool, workers: number): Promise<void> {
  while (pool.stats().workers.filter((w) => w.state === "idle").length < workers) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const isolation of ISOLATIONS) {
  Deno.test(
    named(
      "Pool runs two long applies side by side, not one sent ahead behind the other",
      isolation,
    ),
    async () => {
      await using file = await barrierFile();
      await using pool = new Pool({ size: 2, isolation });
      const first = pool.apply(barrier.meet, [file.path, 2]);
      const second = pool.apply(barrier.meet, [file.path, 2]);
      const quick = pool.apply(math.square, [3]);
      assert.deepEqual(await Promise.all([first, second, quick]), ["met", "met", 9]);
    },
  );

  Deno.test(
    named(
      "Pool.imapUnordered() runs the quick items on the idle worker, not behind the slow one",
      isolation,
    ),
    async () => {
      await using file = await barrierFile();
      await using pool = new Pool({ size: 2, isolation });
      await pool.map(math.square, [1, 2], { chunksize: 1 });
      await allIdle(pool, 2);
      // The slow item finishes only once the consumer has received the five quick ones.
      const items = [
        { file: file.path, value: 0, meet: 5 },
        ...[1, 2, 3, 4, 5].map((value) => ({ file: file.path, value })),
      ];
      const out: string[] = [];
      for await (const result of pool.imapUnordered(barrier.step, items)) {
        out.push(result);
        await Deno.writeTextFile(file.path, ".", { append: true });
      }
      assert.equal(out.at(-1), "met", `the slow item waited for quick ones: ${out}`);
      assert.deepEqual(out.slice(0, 5).sort(), ["1", "2", "3", "4", "5"]);
    },
  );

  Deno.test(
    named(
      "Pool retires an idle worker of another permission set for a lane with queued work",
      isolation,
    ),
    async () => {
      await using file = await barrierFile();
      await using pool = new Pool({ size: 2, isolation });
      assert.equal(await pool.apply(math.square, [2], { permissions: "none" }), 4);
      const both = [
        pool.apply(barrier.meet, [file.path, 2]),
        pool.apply(barrier.meet, [file.path, 2]),
      ];
      assert.deepEqual(await Promise.all(both), ["met", "met"]);
    },
  );

  Deno.test(
    named("Pool.imap() throws an earlier item's failure that came after a later one's", isolation),
    async () => {
      const pool = new Pool({ size: 2, isolation });
      const items = [[60, 0, "item 0 failed"], [5, 1, "item 1 failed"]] as const;
      const results = pool.imap(
        (item: readonly [number, number, string]) =>
          new Promise((_, reject) => setTimeout(() => reject(new Error(item[2])), item[0])),
        items,
        { chunksize: 1 },
      );
      await assert.rejects(
        results.next(),
        (e) => e instanceof TaskError && e.message === "item 0 failed",
      );
      await pool.terminate(); // used to hang: the job never settled
      await pool.join();
    },
  );

  Deno.test(
    named("Pool.imap() with a later item failing first stops at its timeout and signal", isolation),
    async () => {
      await using pool = new Pool({ size: 2, isolation });
      const items = [[5, 1, "item 1 failed"]];
      const first = pool.imap(
        (item: readonly (number | string)[]) =>
          item[0] === 0 ? new Promise(() => {}) : Promise.reject(new Error(String(item[2]))),
        [[0, 0, ""], ...items],
        { chunksize: 1, signal: AbortSignal.timeout(200) },
      );
      await assert.rejects(first.next(), (e) => (e as Error).name === "TimeoutError");
    },
  );

  Deno.test(
    named(
      "Pool.map() with one unsendable item in a batch fails that call alone, and the pool goes on",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation, idleTimeout: 1 });
      // Known to be tiny, so the next calls travel many to a message.
      await pool.map(math.square, Array.from({ length: 300 }, (_, i) => i), { chunksize: 1 });
      const exits: string[] = [];
      pool.addEventListener("workerexit", (e) => exits.push(e.detail.reason));
      const bad = pool.map(math.square, [1, 2, Symbol("no") as unknown as number, 4, 5], {
        chunksize: 1,
      });
      const good = pool.map(math.square, [10, 11, 12], { chunksize: 1 });
      await assert.rejects(
        bad,
        (e) => e instanceof TypeError && /structured-cloned/.test(e.message),
      );
      assert.ok(pool.stats().queued >= 0, `queued is ${pool.stats().queued}`);
      assert.deepEqual(await good, [100, 121, 144]);
      const stats = pool.stats();
      assert.equal(stats.queued, 0);
      assert.equal(stats.running, 0);
      // Once the worker has left (idle), queued work still gets a new one.
      while (!exits.includes("idle")) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(await pool.apply(math.square, [9], { timeout: 20_000 }), 81);
    },
  );

  Deno.test(
    named(
      "Pool.stats() of a pool of 1 with one task running and three waiting: 1 running, 3 queued",
      isolation,
    ),
    async () => {
      const pool = new Pool({ size: 1, isolation });
      await pool.map(math.square, Array.from({ length: 300 }, (_, i) => i), { chunksize: 1 });
      const started = new Promise((resolve) => pool.addEventListener("taskstart", resolve));
      const running = pool.apply(barrier.hang);
      await started;
      const waiting = [1, 2, 3].map((x) => pool.apply(math.square, [x]));
      await Promise.resolve(); // after the dispatch of this turn
      const stats = pool.stats();
      assert.equal(stats.running, 1);
      assert.equal(stats.queued, 3);
      const outcomes = Promise.allSettled([running, ...waiting]);
      await pool.terminate();
      for (const outcome of await outcomes) assert.equal(outcome.status, "rejected");
    },
  );

  Deno.test(
    named(
      "Pool counts items, not chunks, whatever the input's kind, and counts what it stops",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 2, isolation });
      async function* numbers(n: number) {
        for (let i = 0; i < n; i++) yield i;
      }
      await pool.map(math.square, numbers(1000));
      assert.equal(pool.stats().completed, 1000);
      await pool.map(math.square, Array.from({ length: 1000 }, (_, i) => i));
      assert.equal(pool.stats().completed, 2000);
      await assert.rejects(pool.map(barrier.hang, [1, 2, 3], { timeout: 1 }));
      const after = pool.stats();
      assert.equal(after.completed, 2000);
      assert.equal(after.failed + after.cancelled, 3);
    },
  );

  Deno.test(
    named("Pool taskend of a stopped task names the real reason and its run time", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const ends: {
        ok: boolean;
        cancelled?: boolean;
        error?: { message: string };
        runMs: number;
      }[] = [];
      let queued = 0;
      pool.addEventListener("taskqueued", () => queued++);
      pool.addEventListener("taskend", (e) => ends.push(e.detail));
      const started = new Promise((resolve) => pool.addEventListener("taskstart", resolve));
      const controller = new AbortController();
      const running = pool.apply(barrier.settleAfter, [60_000, 0], { signal: controller.signal });
      const behind = pool.apply(barrier.settleAfter, [0, 0], { signal: controller.signal });
      await started;
      controller.abort(new Error("stopped by the caller"));
      await assert.rejects(running, /stopped by the caller/);
      await assert.rejects(behind, /stopped by the caller/);
      assert.equal(ends.length, queued, "every taskqueued has its taskend");
      assert.deepEqual(ends.map((end) => [end.cancelled, end.error?.message]), [
        [true, "stopped by the caller"],
        [true, "stopped by the caller"],
      ]);
      assert.ok(ends[0]!.runMs > 0, "the running task's run time until it was stopped");
      assert.equal(ends[1]!.runMs, 0);
      assert.equal(pool.stats().cancelled, 2);
    },
  );

  Deno.test(
    named("Pool maxQueue: n lets exactly n tasks wait", isolation),
    async () => {
      const pool = new Pool({ size: 1, isolation, maxQueue: 2 });
      const started = new Promise((resolve) => pool.addEventListener("taskstart", resolve));
      const running = pool.apply(barrier.hang);
      await started;
      const waiting = [pool.apply(math.square, [1]), pool.apply(math.square, [2])];
      await Promise.resolve(); // after this turn's dispatch, which may send work ahead
      // Refused at the call (an accepted one would wait behind the task that never ends).
      const third = pool.apply(math.square, [3]).then(() => "ran", (e) => (e as Error).name);
      const accepted = new Promise((resolve) => setTimeout(() => resolve("accepted"), 0));
      assert.equal(await Promise.race([third, accepted]), "QueueFullError");
      const outcomes = Promise.allSettled([running, ...waiting]);
      await pool.terminate();
      for (const outcome of await outcomes) assert.equal(outcome.status, "rejected");
    },
  );

  Deno.test(
    named("Pool.imap() under maxQueue waits for room instead of failing", isolation),
    async () => {
      await using small = new Pool({ size: 1, isolation, maxQueue: 1 });
      const out: number[] = [];
      for await (const x of small.imap(math.square, [1, 2, 3, 4, 5, 6], { chunksize: 1 })) {
        out.push(x);
      }
      assert.deepEqual(out, [1, 4, 9, 16, 25, 36]);
    },
  );
  Deno.test(
    named(
      "Pool gives the slot of a worker whose only task could not be sent to another lane",
      isolation,
    ),
    async () => {
      // Found by the model test: the scoped task fails to send once its worker is ready,
      // and nothing then woke the default lane, waiting for that worker's slot.
      await using pool = new Pool({ size: 1, isolation });
      const unsendable = pool.apply((x: unknown) => x, [Symbol("no")], { permissions: "none" });
      // Stopped as it starts: its worker goes, and the slot passes to the scoped lane.
      const controller = new AbortController();
      pool.addEventListener("taskstart", () => controller.abort(), { once: true });
      const stopped = pool.apply(math.square, [3], { signal: controller.signal })
        .then(() => "ran", (e) => (e as Error).name);
      const waiting = pool.apply(math.square, [4], { timeout: 20_000 });
      await assert.rejects(unsendable, TypeError);
      assert.equal(await stopped, "AbortError");
      assert.equal(await waiting, 16);
    },
  );

  Deno.test(
    named(
      "Pool frees the slot of a worker started for a task that was stopped before it was ready",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      // Stopped long before its worker can be ready: the "none" worker starts for nothing.
      await pool.apply(math.square, [2], { permissions: "none", timeout: 1 }).catch(() => {});
      // Used to hang: the idle "none" worker kept the only slot, its lane counted as busy.
      assert.equal(await pool.apply(math.square, [3], { timeout: 20_000 }), 9);
    },
  );
}

Deno.test("Pool.imap() keeps an explicit chunksize in steady state", async () => {
  await using pool = new Pool({ size: 2 });
  let tasks = 0;
  pool.addEventListener("taskqueued", () => tasks++);
  let sum = 0;
  for await (const x of pool.imap((x: number) => x, range(20_000), { chunksize: 256 })) sum += x;
  assert.equal(sum, (20_000 * 19_999) / 2);
  assert.equal(tasks, Math.ceil(20_000 / 256));
});

Deno.test("Pool crash of a worker fails only the task it ran, even with tasks held behind it", async () => {
  await using pool = new Pool({ size: 1 });
  await pool.map(math.square, Array.from({ length: 300 }, (_, i) => i), { chunksize: 1 });
  const crash = pool.apply(() => {
    (self as unknown as { close(): void }).close();
  });
  const after = [1, 2, 3].map((x) => pool.apply(math.square, [x]));
  await assert.rejects(crash, WorkerCrashError);
  assert.deepEqual(await Promise.all(after), [1, 4, 9]);
});

function* range(n: number) {
  for (let i = 0; i < n; i++) yield i;
}

Deno.test("Pool fails a task per worker that dies while starting, then the lane's queue, never respawning for ever", async () => {
  // A 1 MiB heap: every worker process dies before it is ready.
  await using pool = new Pool({ size: 1, isolation: "process", memoryLimitMb: 1 });
  let spawns = 0;
  pool.addEventListener("workerspawn", () => spawns++);
  const calls = [1, 2, 3, 4, 5].map((x) => pool.apply(math.square, [x]));
  for (const call of calls) {
    await assert.rejects(call, (e) => e instanceof WorkerCrashError && /start/.test(e.message));
  }
  assert.equal(spawns, 3);
});
