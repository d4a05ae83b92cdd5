import assert from "node:assert/strict";
import {
  AsyncResult,
  Pool,
  PoolClosedError,
  QueueFullError,
  type TaskEndDetail,
  TaskError,
  taskModule,
  TimeoutError,
  WorkerCrashError,
} from "../mod.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(fixture("math.ts"));
const crash = taskModule<typeof import("./fixtures/crash.ts")>(fixture("crash.ts"));
const broken = taskModule<{ anything: () => number }>(fixture("broken_module.ts"));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const forever = () => new Promise<never>(() => {});

Deno.test("new Pool() defaults its size to navigator.hardwareConcurrency", async () => {
  await using pool = new Pool();
  assert.equal(pool.size, navigator.hardwareConcurrency);
  assert.equal(new Pool(3).size, 3);
});

Deno.test("new Pool() rejects bad sizes and options with messages that name them", () => {
  assert.throws(() => new Pool(0), (e) => e instanceof RangeError && /'size'.*0/.test(e.message));
  assert.throws(() => new Pool(-2), RangeError);
  assert.throws(() => new Pool(1.5), /'size' must be a positive integer: current value is 1.5/);
  assert.throws(() => new Pool({ size: "2" as unknown as number }), TypeError);
  assert.throws(() => new Pool({ maxTasksPerWorker: 0 }), /'maxTasksPerWorker'/);
  assert.throws(() => new Pool({ maxQueue: -1 }), RangeError);
  assert.throws(() => new Pool({ idleTimeout: -5 }), /'idleTimeout'/);
  assert.throws(() => new Pool({ isolation: "thread" as "worker" }), /'isolation'/);
  assert.throws(
    () => new Pool({ maxtasksperchild: 3 } as unknown as { size: number }),
    /'maxtasksperchild' is not an option/,
  );
  assert.throws(() => new Pool({ initArgs: [() => 1] }), /'initArgs' cannot be structured-cloned/);
  assert.throws(() => new Pool({ permissions: { disk: true } as never }), /'disk'/);
});

for (const isolation of ISOLATIONS) {
  const options = { isolation };

  Deno.test(
    named("Pool.apply() runs an inline function and a task module export", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      assert.equal(await pool.apply((a: number, b: number) => a + b, [2, 3]), 5);
      const squared: number = await pool.apply(math.square, [7]);
      assert.equal(squared, 49);
      assert.equal(await pool.apply(math.later, [3, 1]), 3);
      assert.equal(await pool.apply(() => "no args"), "no args");
    },
  );

  Deno.test(
    named("Pool.apply() keeps structured-clone fidelity both ways", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const value = {
        map: new Map([["a", 1]]),
        set: new Set([1, 2]),
        date: new Date(0),
        big: 10n ** 20n,
        bytes: new Uint8Array([1, 2, 3]),
        nested: { deep: [1, { x: undefined }] },
        nothing: undefined,
      };
      assert.deepEqual(await pool.apply((v: unknown) => v, [value]), value);
      assert.equal(await pool.apply(() => undefined), undefined);
    },
  );

  Deno.test(
    named("Pool.apply() names the outer variable an inline function uses", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const outerFactor = 3;
      const error = await pool.apply((x: number) => x * outerFactor, [2]).catch((e) => e);
      assert.ok(error instanceof TaskError);
      assert.match(error.message, /'outerFactor'/);
      assert.match(error.message, /pass 'outerFactor' as an argument/);
      assert.equal((error.cause as Error).name, "ReferenceError");
    },
  );

  Deno.test(
    named("Pool.apply() accepts methods and async functions as inline tasks", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const tasks = {
        double(x: number) {
          return x * 2;
        },
        async triple(x: number) {
          return await Promise.resolve(x * 3);
        },
      };
      assert.equal(await pool.apply(tasks.double, [4]), 8);
      assert.equal(await pool.apply(tasks.triple, [4]), 12);
      assert.equal(
        await pool.apply(async function named(x: number) {
          await Promise.resolve();
          return x + 1;
        }, [1]),
        2,
      );
    },
  );

  Deno.test(
    named("Pool.apply() rebuilds the task's error as TaskError.cause", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const error = await pool.apply(() => {
        class DiskError extends Error {
          code = "EDISK";
          override name = "DiskError";
        }
        throw new DiskError("disk on fire");
      }).catch((e) => e);
      assert.ok(error instanceof TaskError);
      assert.equal(error.name, "TaskError");
      assert.equal(error.message, "disk on fire");
      const cause = error.cause as Error & { code: string };
      assert.equal(cause.name, "DiskError");
      assert.equal(cause.code, "EDISK");
      assert.match(cause.stack ?? "", /disk on fire/);
    },
  );

  Deno.test(
    named("Pool.apply() handles thrown strings, null and plain objects", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const str = await pool.apply(() => {
        throw "just a string";
      }).catch((e) => e);
      assert.ok(str instanceof TaskError);
      assert.equal(str.message, "just a string");
      assert.equal(str.cause, "just a string");
      const nil = await pool.apply(() => {
        throw null;
      }).catch((e) => e);
      assert.ok(nil instanceof TaskError);
      assert.equal(nil.cause, null);
      assert.match(nil.message, /non-Error value: null/);
      const obj = await pool.apply(() => {
        throw { reason: "plain", n: 1 };
      }).catch((e) => e);
      assert.ok(obj instanceof TaskError);
      assert.deepEqual(obj.cause, { reason: "plain", n: 1 });
      const fn = await pool.apply(() => {
        throw () => 1;
      }).catch((e) => e);
      assert.ok(fn instanceof TaskError);
    },
  );

  Deno.test(
    named("Pool.apply() fails a task module that is missing or broken, and carries on", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const missing = taskModule<{ nope: () => number }>(fixture("math.ts"));
      await assert.rejects(pool.apply(missing.nope, []), (e: Error) => {
        return e instanceof TaskError && /has no export 'nope'/.test(e.message);
      });
      await assert.rejects(
        pool.apply((math as unknown as Record<string, never>).notAFunction!, []),
        /exports a non-function as 'notAFunction'/,
      );
      await assert.rejects(pool.apply(broken.anything, []), (e: Error) => {
        return e instanceof TaskError &&
          /Cannot load task module .*broken on purpose/.test(e.message);
      });
      const absent = taskModule<{ f: () => number }>(fixture("does_not_exist.ts"));
      await assert.rejects(pool.apply(absent.f, []), /Cannot load task module/);
      assert.equal(await pool.apply(math.square, [3]), 9);
    },
  );

  Deno.test(
    named("Pool.apply() rejects a non-function and arguments that cannot be cloned", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      await assert.rejects(pool.apply(42 as never, []), /'fn' as it must be a function/);
      await assert.rejects(pool.apply(Math.max, [1, 2]), /source is not available/);
      await assert.rejects(pool.apply(math.square, 5 as never), /'args' must be an array/);
      await assert.rejects(
        pool.apply((f: unknown) => f, [() => 1]),
        (e: Error) =>
          e instanceof TypeError &&
          /arguments of task .* cannot be structured-cloned/.test(e.message),
      );
      await assert.rejects(
        pool.apply(() => () => 1),
        (e: Error) =>
          e instanceof TypeError && /result .* cannot be structured-cloned/.test(e.message),
      );
      assert.equal(await pool.apply(math.add, [1, 2]), 3);
    },
  );

  Deno.test(
    named("Pool.applyAsync() gives an AsyncResult with get, wait, ready and successful", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const result = pool.applyAsync(math.later, [5, 30]);
      assert.ok(result instanceof AsyncResult);
      assert.equal(result.ready(), false);
      assert.throws(() => result.successful(), /not finished/);
      await result.wait();
      assert.equal(result.ready(), true);
      assert.equal(result.successful(), true);
      assert.equal(await result.get(), 5);
      assert.equal(await result, 5);

      const slow = pool.applyAsync(math.later, [1, 300]);
      await assert.rejects(slow.get(10), TimeoutError);
      await slow.wait(5); // returns without throwing although not ready
      assert.equal(await slow.get(), 1); // the task kept running

      const failed = pool.applyAsync(() => {
        throw new Error("nope");
      });
      await failed.wait();
      assert.equal(failed.successful(), false);
      await assert.rejects(failed.get(), TaskError);
    },
  );

  Deno.test(
    named("Pool.*Async() failures nobody asks about are no unhandled rejection", isolation),
    async () => {
      // Deno fails a test on an unhandled rejection, so merely finishing proves the point.
      await using pool = new Pool({ size: 1, ...options });
      const seen: unknown[] = [];
      const apply = pool.applyAsync(
        () => {
          throw new RangeError("ignored");
        },
        [],
        { errorCallback: (error) => seen.push(error) },
      );
      const map = pool.mapAsync(
        (x: number) => {
          if (x === 2) throw new RangeError("ignored too");
          return x;
        },
        [1, 2, 3],
        { chunksize: 1 },
      );
      assert.equal(await pool.apply(math.add, [1, 1]), 2);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(apply.ready(), true);
      assert.equal(map.ready(), true);
      assert.equal(seen.length, 1);
      // Asked for later, the error is still there, as in Python's get().
      await assert.rejects(
        apply.get(),
        (e: Error) => e instanceof TaskError && /ignored/.test(e.message),
      );
      await assert.rejects(
        map.get(),
        (e: Error) => e instanceof TaskError && /ignored too/.test(e.message),
      );
    },
  );

  Deno.test(
    named("Pool.applyAsync() runs callback and errorCallback before join() resolves", isolation),
    async () => {
      const pool = new Pool({ size: 2, ...options });
      const results: number[] = [];
      const errors: unknown[] = [];
      for (const x of [1, 2, 3]) {
        pool.applyAsync(math.later, [x, 5], { callback: (r) => results.push(r) });
      }
      pool.applyAsync(
        () => {
          throw new Error("for the error callback");
        },
        [],
        { errorCallback: (e) => errors.push(e) },
      );
      pool.close();
      await pool.join();
      assert.deepEqual(results.sort(), [1, 2, 3]);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof TaskError);
    },
  );

  Deno.test(
    named("Pool.map() returns results in input order for any iterable", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const xs = Array.from({ length: 1000 }, (_, i) => i);
      assert.deepEqual(await pool.map(math.square, xs), xs.map((x) => x * x));
      assert.deepEqual(await pool.map(math.square, new Set([1, 2, 3])), [1, 4, 9]);
      function* gen() {
        yield* [4, 5];
      }
      assert.deepEqual(await pool.map(math.square, gen()), [16, 25]);
      async function* agen() {
        yield 6;
        await sleep(1);
        yield 7;
      }
      assert.deepEqual(await pool.map(math.square, agen()), [36, 49]);
      assert.deepEqual(await pool.map(math.square, []), []);
      for (const chunksize of [1, 7, 100, 5000]) {
        assert.deepEqual(await pool.map(math.square, xs, { chunksize }), xs.map((x) => x * x));
      }
      // Uneven async tasks still come back in input order.
      const delays = [30, 1, 20, 2, 10];
      assert.deepEqual(
        await pool.map((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), delays, {
          chunksize: 1,
        }),
        delays,
      );
    },
  );

  Deno.test(
    named("Pool.map() rejects bad input and options with TypeError/RangeError", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      await assert.rejects(pool.map(math.square, 5 as never), /'iterable' must be an Iterable/);
      await assert.rejects(pool.map(math.square, null as never), TypeError);
      await assert.rejects(pool.map(math.square, [1], { chunksize: 0 }), RangeError);
      await assert.rejects(pool.map(math.square, [1], { chunksize: -1 }), /'chunksize'/);
      await assert.rejects(pool.map(math.square, [1], { timeout: -1 }), /'timeout'/);
      assert.throws(() => pool.mapAsync(math.square, 5 as never), TypeError);
      assert.throws(() => pool.imap(math.square, 5 as never), TypeError);
    },
  );

  Deno.test(named("Pool.map() re-throws the input iterable's own error", isolation), async () => {
    await using pool = new Pool({ size: 1, ...options });
    const boom = new SyntaxError("input broke");
    function* bad() {
      yield 1;
      throw boom;
    }
    await assert.rejects(pool.map(math.square, bad()), (e) => e === boom);
  });

  Deno.test(
    named("Pool.map() rejects with the first failure and nothing else is lost", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const other = pool.map(math.square, [1, 2, 3]);
      const failing = pool.map(
        (x: number) => {
          if (x === 50) throw new Error(`bad item ${x}`);
          return x;
        },
        Array.from({ length: 100 }, (_, i) => i),
        { chunksize: 10 },
      );
      await assert.rejects(failing, /bad item 50/);
      assert.deepEqual(await other, [1, 4, 9]);
    },
  );

  Deno.test(
    named("Pool.mapAsync() and Pool.starmapAsync() call back with the whole list", isolation),
    async () => {
      const pool = new Pool({ size: 2, ...options });
      let squares: number[] = [];
      let sums: number[] = [];
      const a = pool.mapAsync(math.square, [1, 2, 3], { callback: (r) => squares = r });
      const b = pool.starmapAsync(math.add, [[1, 2], [3, 4]], { callback: (r) => sums = r });
      pool.close();
      await pool.join();
      assert.deepEqual(squares, [1, 4, 9]);
      assert.deepEqual(sums, [3, 7]);
      assert.deepEqual(await a, [1, 4, 9]);
      assert.deepEqual(await b.get(), [3, 7]);
    },
  );

  Deno.test(named("Pool.starmap() spreads each item as arguments", isolation), async () => {
    await using pool = new Pool({ size: 2, ...options });
    const pairs: [number, number][] = Array.from({ length: 50 }, (_, i) => [i, i]);
    assert.deepEqual(await pool.starmap(math.add, pairs), pairs.map(([a, b]) => a + b));
    await assert.rejects(pool.starmap(math.add, [1, 2] as never), /item 0 must be an array/);
  });

  Deno.test(
    named("Pool.imap() yields in input order and stops pulling an endless input", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      let pulled = 0;
      function* naturals() {
        for (let n = 0;; n++) {
          pulled++;
          yield n;
        }
      }
      const out: number[] = [];
      for await (const x of pool.imap(math.square, naturals(), { window: 32 })) {
        out.push(x);
        if (out.length === 200) break;
      }
      assert.deepEqual(out, Array.from({ length: 200 }, (_, i) => i * i));
      const pulledAtStop = pulled;
      assert.ok(pulledAtStop <= 200 + 32, `pulled ${pulledAtStop} items for 200 results`);
      await sleep(20);
      assert.equal(pulled, pulledAtStop, "pulling went on after the consumer stopped");
    },
  );

  Deno.test(
    named("Pool.imap() never pulls more than its window ahead of the consumer", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      let pulled = 0;
      let consumed = 0;
      let maxAhead = 0;
      async function* source() {
        for (let n = 0; n < 2000; n++) {
          pulled++;
          maxAhead = Math.max(maxAhead, pulled - consumed);
          yield n;
        }
      }
      for await (const _ of pool.imap(math.square, source(), { window: 50, chunksize: 5 })) {
        consumed++;
      }
      assert.equal(consumed, 2000);
      assert.ok(maxAhead <= 50 + 5, `ran ${maxAhead} items ahead with a window of 50`);
    },
  );

  Deno.test(
    named("Pool.imap() delivers results before a failure, then throws it", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const out: number[] = [];
      const boom = new RangeError("input gave out");
      function* input() {
        yield* [1, 2, 3];
        throw boom;
      }
      await assert.rejects(async () => {
        for await (const x of pool.imap(math.square, input())) out.push(x);
      }, (e) => e === boom);
      assert.deepEqual(out, [1, 4, 9]);

      const got: number[] = [];
      await assert.rejects(async () => {
        for await (
          const x of pool.imap(
            (n: number) => {
              if (n === 5) throw new Error("five");
              return n;
            },
            [0, 1, 2, 3, 4, 5, 6, 7],
            { chunksize: 1 },
          )
        ) got.push(x);
      }, /five/);
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
    },
  );

  Deno.test(
    named("Pool.imapUnordered() yields every result in completion order", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const out: number[] = [];
      for await (const x of pool.imapUnordered(math.delayed, [1, 2, 3, 4, 5], { chunksize: 1 })) {
        out.push(x as number);
      }
      assert.deepEqual(out.sort(), [1, 2, 3, 4, 5]);
      // No clock: the slow item finishes only once the consumer has received a result (it
      // marks a file), so completion order is quick, then slow, however loaded the machine.
      const received = await Deno.makeTempFile();
      const order: string[] = [];
      for await (
        const x of pool.imapUnordered(
          async ([kind, file]: readonly [string, string]) => {
            if (kind === "quick") return kind;
            const until = Date.now() + 20_000;
            while (Date.now() < until && Deno.readTextFileSync(file) === "") {
              await new Promise((r) => setTimeout(r, 2));
            }
            return Deno.readTextFileSync(file) === "" ? "gave up" : kind;
          },
          [["slow", received], ["quick", received]] as const,
          { chunksize: 1 },
        )
      ) {
        order.push(x);
        await Deno.writeTextFile(received, ".", { append: true });
      }
      await Deno.remove(received);
      assert.deepEqual(order, ["quick", "slow"]);
    },
  );

  Deno.test(
    named("Pool.close() refuses new calls and runs the queued ones", isolation),
    async () => {
      const pool = new Pool({ size: 1, ...options });
      const queued = [1, 2, 3].map((x) => pool.apply(math.later, [x, 5]));
      pool.close();
      assert.equal(pool.state, "closing");
      await assert.rejects(pool.apply(math.square, [1]), PoolClosedError);
      assert.throws(() => pool.applyAsync(math.square, [1]), PoolClosedError);
      assert.throws(() => pool.imap(math.square, [1]), PoolClosedError);
      await pool.join();
      assert.deepEqual(await Promise.all(queued), [1, 2, 3]);
      assert.equal(pool.stats().workers.length, 0);
    },
  );

  Deno.test(named("Pool.join() rejects while the pool is running", isolation), async () => {
    const pool = new Pool({ size: 1, ...options });
    await assert.rejects(pool.join(), /still running: call close\(\) or terminate\(\) first/);
    await pool.terminate();
    await pool.join();
  });

  Deno.test(
    named("Pool.terminate() rejects pending calls with PoolClosedError", isolation),
    async () => {
      const pool = new Pool({ size: 1, ...options });
      const running = pool.apply(forever);
      const queued = pool.apply(math.square, [2]);
      const mapped = pool.map(math.square, [1, 2, 3]);
      const errors: unknown[] = [];
      pool.applyAsync(forever, [], { errorCallback: (e) => errors.push(e) });
      await sleep(10);
      const checks = [
        assert.rejects(running, PoolClosedError),
        assert.rejects(queued, PoolClosedError),
        assert.rejects(mapped, PoolClosedError),
      ];
      await pool.terminate();
      await Promise.all(checks);
      assert.ok(errors[0] instanceof PoolClosedError);
      assert.equal(pool.state, "terminated");
    },
  );

  Deno.test(named("Pool[Symbol.asyncDispose]() drains every queued call", isolation), async () => {
    const results: Promise<number>[] = [];
    {
      await using pool = new Pool({ size: 2, ...options });
      for (let i = 0; i < 20; i++) results.push(pool.apply(math.later, [i, 2]));
    }
    assert.deepEqual(await Promise.all(results), Array.from({ length: 20 }, (_, i) => i));
  });

  Deno.test(
    named("Pool initializer runs once in every worker before its tasks", isolation),
    async () => {
      await using pool = new Pool({
        size: 2,
        initializer: math.initialize,
        initArgs: ["ready"],
        ...options,
      });
      const seen = await pool.map(math.readInitialized, [1, 2, 3, 4], { chunksize: 1 });
      assert.deepEqual(seen, ["ready", "ready", "ready", "ready"]);

      await using inline = new Pool({
        size: 1,
        initializer: (v: number) => {
          (globalThis as { base?: number }).base = v;
        },
        initArgs: [100],
        ...options,
      });
      assert.equal(
        await inline.apply((x: number) => (globalThis as { base?: number }).base! + x, [1]),
        101,
      );
    },
  );

  Deno.test(
    named("Pool initializer that throws fails each task clearly without a respawn loop", isolation),
    async () => {
      await using pool = new Pool({
        size: 1,
        initializer: () => {
          throw new Error("no database");
        },
        ...options,
      });
      const spawned: number[] = [];
      pool.addEventListener("workerspawn", (e) => spawned.push(e.detail.workerId));
      await assert.rejects(pool.apply(math.square, [2]), /initializer failed.*no database/);
      await assert.rejects(pool.apply(math.square, [3]), /initializer failed/);
      assert.equal(spawned.length, 1);
    },
  );

  Deno.test(
    named("Pool maxTasksPerWorker replaces a worker after that many tasks", isolation),
    async () => {
      await using pool = new Pool({ size: 1, maxTasksPerWorker: 2, ...options });
      const counts = await pool.map(math.countCalls, [1, 2, 3, 4, 5], { chunksize: 1 });
      // Module state restarts with each fresh worker.
      assert.deepEqual(counts, [1, 2, 1, 2, 1]);
    },
  );

  Deno.test(
    named("Pool idleTimeout lets idle workers exit and starts new ones on demand", isolation),
    async () => {
      await using pool = new Pool({ size: 1, idleTimeout: 20, ...options });
      const exited = new Promise<string>((resolve) => {
        pool.addEventListener("workerexit", (e) => resolve(e.detail.reason), { once: true });
      });
      assert.equal(await pool.apply(math.square, [2]), 4);
      assert.equal(await exited, "idle");
      assert.equal(pool.stats().workers.filter((w) => w.state !== "exiting").length, 0);
      assert.equal(await pool.apply(math.square, [3]), 9);
    },
  );

  Deno.test(
    named("Pool maxQueue rejects a submit beyond it with QueueFullError", isolation),
    async () => {
      await using pool = new Pool({ size: 1, maxQueue: 2, ...options });
      // One task can start at once (size 1), two may wait: the fourth is refused.
      const accepted = [0, 1, 2].map((i) => pool.apply(math.later, [i, 20]));
      const refused = pool.apply(math.later, [9, 1]);
      assert.throws(() => pool.applyAsync(math.square, [1]), QueueFullError);
      await assert.rejects(refused, QueueFullError);
      assert.deepEqual(await Promise.all(accepted), [0, 1, 2]);
      assert.equal(await pool.apply(math.square, [4]), 16);
    },
  );

  Deno.test(
    named("Pool call signal removes a queued task and stops a running one", isolation),
    async () => {
      await using pool = new Pool({ size: 1, ...options });
      const running = new AbortController();
      const queued = new AbortController();
      const first = pool.apply(forever, [], { signal: running.signal });
      const second = pool.apply(math.square, [5], { signal: queued.signal });
      const third = pool.apply(math.square, [6]);
      await sleep(10);
      queued.abort(new Error("not needed"));
      await assert.rejects(second, /not needed/);
      running.abort();
      await assert.rejects(first, (e: Error) => e.name === "AbortError");
      assert.equal(await third, 36);
      const aborted = AbortSignal.abort(new Error("too late"));
      await assert.rejects(pool.apply(math.square, [1], { signal: aborted }), /too late/);
    },
  );

  Deno.test(
    named("Pool call timeout stops the call with TimeoutError and the pool carries on", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const ends: TaskEndDetail[] = [];
      pool.addEventListener("taskend", (e) => ends.push(e.detail));
      const other = pool.apply(math.later, [7, 50]);
      await assert.rejects(pool.apply(forever, [], { timeout: 20 }), TimeoutError);
      await assert.rejects(pool.map(forever, [1, 2], { timeout: 20 }), TimeoutError);
      assert.equal(await other, 7);
      // Whether a stopped task had started (its worker then replaced) or still waited is a
      // matter of start-up time; either way its taskend names the timeout.
      const stopped = ends.filter((end) => end.task === "forever");
      assert.ok(stopped.length >= 2);
      for (const end of stopped) {
        assert.equal(end.cancelled, true);
        assert.equal(end.error?.name, "TimeoutError");
      }
      assert.deepEqual(await pool.map(math.square, [1, 2, 3]), [1, 4, 9]);
    },
  );

  Deno.test(
    named("Pool replaces a worker that dies mid-task and fails only that task", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      for (
        const way of [
          crash.uncaughtLater,
          crash.unhandledRejection,
          crash.closeSelf,
          crash.exitSelf,
        ]
      ) {
        const neighbours = pool.map(math.delayed, [1, 2, 3, 4], { chunksize: 1 }).catch((e) => e);
        const error = await pool.apply(way, []).catch((e) => e);
        assert.ok(error instanceof WorkerCrashError, `${way.exportName}: ${error}`);
        assert.match(error.message, new RegExp(way.exportName));
        const mapped = await neighbours;
        assert.deepEqual(mapped, [1, 2, 3, 4]);
      }
      assert.equal(await pool.apply(math.square, [9]), 81);
    },
  );

  Deno.test(
    named("Pool.map() with a crash in one chunk rejects that map and nothing else", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const unrelated = pool.map(math.delayed, [1, 2, 3], { chunksize: 1 });
      const crashing = pool.map(
        (x: number) => {
          if (x === 3) (globalThis as unknown as { close(): void }).close();
          return x;
        },
        [1, 2, 3, 4, 5, 6],
        { chunksize: 1 },
      );
      await assert.rejects(crashing, WorkerCrashError);
      assert.deepEqual(await unrelated, [1, 2, 3]);
    },
  );

  Deno.test(
    named("Pool call transfer moves ArrayBuffers instead of copying", isolation),
    async () => {
      await using pool = new Pool({ size: 2, ...options });
      const buffer = new Float64Array([1, 2, 3]).buffer;
      const sum = await pool.apply(
        (b: ArrayBuffer) => new Float64Array(b).reduce((a, x) => a + x, 0),
        [buffer],
        { transfer: [buffer] },
      );
      assert.equal(sum, 6);
      assert.equal(buffer.byteLength, 0, "the caller's buffer is detached");
      const arrays = [new Float64Array([1, 1]), new Float64Array([2, 2])];
      const sums = await pool.map((a: Float64Array) => a[0]! + a[1]!, arrays, {
        transfer: arrays.map((a) => a.buffer),
        chunksize: 1,
      });
      assert.deepEqual(sums, [2, 4]);
      assert.ok(arrays.every((a) => a.byteLength === 0));
    },
  );

  Deno.test(
    named("Pool events and stats() describe workers, tasks and latency", isolation),
    async () => {
      await using pool = new Pool({ size: 2, name: "observed", ...options });
      const seen: Record<string, number> = {};
      const count = (e: Event) => seen[e.type] = (seen[e.type] ?? 0) + 1;
      for (const type of ["workerspawn", "taskqueued", "taskstart", "taskend"] as const) {
        pool.addEventListener(type, count);
      }
      let failedEnd: { ok: boolean; error?: { name: string; cause?: string } } | undefined;
      pool.addEventListener("taskend", (e) => {
        if (!e.detail.ok) failedEnd = e.detail;
      });
      await pool.map(math.square, [1, 2, 3, 4], { chunksize: 1 });
      await pool.apply(() => {
        throw new Error("counted");
      }).catch(() => {});
      assert.ok(seen.workerspawn! >= 1);
      assert.equal(seen.taskqueued, 5);
      assert.equal(seen.taskstart, 5);
      assert.equal(seen.taskend, 5);
      assert.equal(failedEnd?.error?.name, "TaskError");
      assert.equal(failedEnd?.error?.cause, "Error");
      const stats = pool.stats();
      assert.equal(stats.name, "observed");
      assert.equal(stats.size, 2);
      assert.equal(stats.isolation, isolation);
      assert.equal(stats.completed, 4);
      assert.equal(stats.failed, 1);
      assert.equal(stats.queued, 0);
      assert.equal(stats.running, 0);
      assert.ok(stats.throughput > 0);
      assert.ok(stats.latency.runMs.p99 >= stats.latency.runMs.p50);
      const done = stats.workers.reduce((n, w) => n + w.tasksCompleted + w.tasksFailed, 0);
      assert.equal(done, 5);
      for (const worker of stats.workers) {
        // A worker that ran nothing may still be starting: tasks never wait for one.
        const ran = worker.tasksCompleted + worker.tasksFailed > 0;
        assert.ok(ran ? worker.state === "idle" : /^(idle|starting)$/.test(worker.state));
        assert.equal(worker.permissions, "inherit");
        assert.ok(worker.utilization >= 0 && worker.utilization <= 1);
      }
      pool.removeEventListener("taskend", count);
    },
  );
}

Deno.test("new Pool() in a task module's top level fails with the import.meta.main fix", async () => {
  await using pool = new Pool(1);
  const unguarded = taskModule<typeof import("./fixtures/unguarded.ts")>(fixture("unguarded.ts"));
  const error = await pool.apply(unguarded.double, [2]).catch((e) => e);
  assert.ok(error instanceof TaskError);
  assert.match(error.message, /import\.meta\.main/);
  assert.equal(pool.stats().workers.length, 1, "no pool was started inside the worker");
});

Deno.test("Pool with scoped permissions runs task modules its workers cannot read", async () => {
  await using pool = new Pool({ size: 1, permissions: "none" });
  assert.equal(await pool.apply(math.square, [12]), 144);
  // A module first named after the worker started: the worker is replaced by one that has it.
  const late = taskModule<typeof import("./fixtures/late.ts")>(fixture("late.ts"));
  assert.equal(await pool.apply(late.triple, [3]), 9);
  assert.equal(await pool.apply(math.square, [5]), 25);
});

Deno.test("Pool.terminate() ends an imap nobody reads; its next() throws, dropping results that arrived", async () => {
  const pool = new Pool(1);
  function* endless() {
    for (let n = 0;; n++) yield n;
  }
  // A result has reached the iterator (taskend comes just before it is handed over) but
  // nobody has read it: terminate() drops it, so the outcome does not depend on timing.
  const arrived = new Promise((resolve) => pool.addEventListener("taskend", resolve));
  const squares = pool.imap(math.square, endless(), { window: 8, chunksize: 1 });
  await arrived;
  await pool.terminate(); // must not wait for the unread stream
  await assert.rejects(squares.next(), PoolClosedError);
  assert.deepEqual(await squares.next(), { done: true, value: undefined });
});

Deno.test("Pool.terminate() before any result arrives: the imap's next() throws as well", async () => {
  const pool = new Pool(1);
  const slow = pool.imap((ms: number) => new Promise((r) => setTimeout(r, ms)), [5_000]);
  await pool.terminate();
  await assert.rejects(slow.next(), PoolClosedError);
});

Deno.test("Pool.join() does not wait for the reader of a finished imap", async () => {
  const pool = new Pool(2);
  const doubled = pool.imap((x: number) => x * 2, [1, 2, 3]);
  pool.close();
  await pool.join();
  const out: number[] = [];
  for await (const x of doubled) out.push(x);
  assert.deepEqual(out, [2, 4, 6]);
});

Deno.test("Pool fails queued tasks when no worker can start, instead of hanging", async () => {
  const transport = () => {
    throw new Error("no threads today");
  };
  await using pool = new Pool({ size: 1, transport } as unknown as { size: number });
  await assert.rejects(pool.apply(math.square, [2]), (e: Error) => {
    return e instanceof WorkerCrashError &&
      /Cannot start a worker: no threads today/.test(e.message);
  });
  await assert.rejects(pool.map(math.square, [1, 2, 3]), WorkerCrashError);
});

Deno.test("Pool builds no event that nobody listens to, and only the kinds listened to", async () => {
  await using pool = new Pool(2);
  const built: string[] = [];
  // Every event goes through dispatchEvent: count what reaches it.
  const dispatch = pool.dispatchEvent.bind(pool);
  pool.dispatchEvent = (event: Event) => {
    built.push(event.type);
    return dispatch(event);
  };
  await pool.map(math.square, Array.from({ length: 50 }, (_, i) => i), { chunksize: 1 });
  assert.deepEqual(built, [], "events were built with no listener");

  const ends: unknown[] = [];
  const onEnd = (event: Event) => ends.push((event as CustomEvent).detail);
  pool.addEventListener("taskend", onEnd);
  await pool.map(math.square, [1, 2, 3, 4, 5], { chunksize: 1 });
  assert.equal(ends.length, 5);
  assert.deepEqual(new Set(built), new Set(["taskend"]));

  pool.removeEventListener("taskend", onEnd);
  built.length = 0;
  await pool.map(math.square, [1, 2, 3], { chunksize: 1 });
  assert.deepEqual(built, []);
});

/** Sums an array: the task of the chunking tests below. */
const total = (values: Float64Array) => values.reduce((sum, x) => sum + x, 0);

/** `count` arrays of `length` numbers each. */
const arrays = (count: number, length: number) =>
  Array.from({ length: count }, (_, i) => new Float64Array(length).fill(i));

/**
 * Items per task (chunk) of the second of two runs of `run`: the first teaches the pool the
 * function's cost. `run` is given fresh arrays each time and returns the sums.
 */
async function chunkSizes(
  pool: Pool,
  make: () => Float64Array[],
  run: (items: Float64Array[]) => Promise<number[]>,
): Promise<number[]> {
  await run(make());
  const sizes: number[] = [];
  const onEnd = (event: Event) => sizes.push((event as CustomEvent).detail.items);
  pool.addEventListener("taskend", onEnd);
  const items = make();
  const expected = items.map(total);
  assert.deepEqual(await run(items), expected);
  pool.removeEventListener("taskend", onEnd);
  return sizes;
}

Deno.test("Pool.map() by default sends big binary items one per chunk, small ones chunked", async () => {
  await using pool = new Pool(2);
  const map = (items: Float64Array[]) => pool.map(total, items);
  const big = await chunkSizes(pool, () => arrays(64, 64 * 1024), map);
  assert.deepEqual(new Set(big), new Set([1]), "512 KiB items");
  const small = await chunkSizes(pool, () => arrays(64, 16), map);
  assert.ok(Math.max(...small) > 1, `128-byte items went one per chunk: ${small}`);
  // Moved buffers are not copied, so they may share a chunk.
  const moved = await chunkSizes(
    pool,
    () => arrays(64, 64 * 1024),
    (items) => pool.map(total, items, { transfer: items.map((a) => a.buffer as ArrayBuffer) }),
  );
  assert.ok(Math.max(...moved) > 1, `transferred items went one per chunk: ${moved}`);
});

Deno.test("Pool.imap() grows chunks of small items, but not of big binary ones", async () => {
  await using pool = new Pool(2);
  const imap = async (items: Float64Array[]) => {
    const sums: number[] = [];
    for await (const sum of pool.imap(total, items)) sums.push(sum);
    return sums;
  };
  const small = await chunkSizes(pool, () => arrays(96, 16), imap);
  assert.ok(Math.max(...small) > 1, `128-byte items went one per chunk: ${small}`);
  const big = await chunkSizes(pool, () => arrays(96, 64 * 1024), imap);
  assert.deepEqual(new Set(big), new Set([1]), "512 KiB items");
});
