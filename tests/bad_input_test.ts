/**
 * Bad input gets a clear error at the call, never a dead process or worker (issue 10, §4):
 * each test here feeds the pool one kind of bad argument or hostile value.
 */
import assert from "node:assert/strict";
import { Pool, TaskError } from "../mod.ts";
import { serveMonitor, watchPool } from "../monitor.ts";
import { HOSTILE } from "./_hostile_values.ts";
import { ISOLATIONS, named } from "./_isolation.ts";

const identity = (x: number) => x;

/** A TypeError or RangeError whose message matches `pattern`. */
function error(kind: typeof TypeError | typeof RangeError, pattern: RegExp) {
  return (thrown: unknown) => {
    assert.ok(thrown instanceof kind, `expected a ${kind.name}, got ${thrown}`);
    assert.match((thrown as Error).message, pattern);
    return true;
  };
}

Deno.test("Pool *Async calls refuse a callback or errorCallback that is not a function", async () => {
  await using pool = new Pool(1);
  const notFunctions = [5, "f", null, {}, [() => {}]];
  for (const value of notFunctions) {
    assert.throws(
      () => pool.applyAsync(identity, [1], { callback: value as never }),
      error(TypeError, /^Cannot applyAsync as 'callback' must be a function: current value is/),
    );
    assert.throws(
      () => pool.applyAsync(identity, [1], { errorCallback: value as never }),
      error(TypeError, /^Cannot applyAsync as 'errorCallback' must be a function/),
    );
    assert.throws(
      () => pool.mapAsync(identity, [1], { callback: value as never }),
      error(TypeError, /^Cannot mapAsync as 'callback' must be a function/),
    );
    assert.throws(
      () => pool.starmapAsync(identity, [[1]], { errorCallback: value as never }),
      error(TypeError, /^Cannot starmapAsync as 'errorCallback' must be a function/),
    );
  }
  assert.throws(
    () => pool.applyAsync(identity, [1], { callback: null as never }),
    /current value is null/,
  );
  // Nothing was started: the pool has no call left to finish.
  assert.equal(pool.stats().queued, 0);
  assert.equal(await pool.applyAsync(identity, [7], { callback: () => {} }), 7);
});

Deno.test("Pool calls refuse a misspelt or foreign option with a TypeError naming it", async () => {
  await using pool = new Pool(1);
  const fn = identity;
  const calls: Record<string, (options: never) => unknown> = {
    apply: (options) => pool.apply(fn, [1], options),
    applyAsync: (options) => pool.applyAsync(fn, [1], options),
    map: (options) => pool.map(fn, [1], options),
    mapAsync: (options) => pool.mapAsync(fn, [1], options),
    starmap: (options) => pool.starmap(fn, [[1]], options),
    starmapAsync: (options) => pool.starmapAsync(fn, [[1]], options),
    imap: (options) => pool.imap(fn, [1], options),
    imapUnordered: (options) => pool.imapUnordered(fn, [1], options),
  };
  const rejects = async (method: string, options: object, pattern: RegExp) => {
    // apply, map and starmap reject; the others throw at once (see the README).
    const outcome = new Promise((resolve) => resolve(calls[method]!(options as never)));
    await assert.rejects(
      outcome,
      error(TypeError, pattern),
      `${method} ${JSON.stringify(options)}`,
    );
  };
  for (const method of Object.keys(calls)) {
    await rejects(
      method,
      { timout: 5 },
      new RegExp(
        `^Cannot ${method} as 'timout' is not an option of ${method}: did you mean 'timeout'\\?$`,
      ),
    );
    await rejects(method, { signl: undefined }, /'signl' is not an option.*did you mean 'signal'/);
    await rejects(method, { retries: 3 }, new RegExp(`'retries' is not an option of ${method}$`));
  }
  for (const method of ["map", "mapAsync", "starmap", "starmapAsync", "imap", "imapUnordered"]) {
    await rejects(
      method,
      { chunkSize: 2 },
      /'chunkSize' is not an option.*did you mean 'chunksize'/,
    );
  }
  // An option of another method is foreign here.
  for (const method of ["apply", "applyAsync"]) {
    await rejects(
      method,
      { chunksize: 2 },
      new RegExp(`'chunksize' is not an option of ${method}`),
    );
  }
  for (const method of ["apply", "map", "starmap", "imap", "imapUnordered"]) {
    await rejects(method, { callback: () => {} }, /'callback' is not an option/);
  }
  for (const method of ["apply", "applyAsync", "map", "mapAsync", "starmap", "starmapAsync"]) {
    await rejects(method, { window: 4 }, /'window' is not an option/);
  }
  assert.throws(
    () => new Pool({ idleTimout: 5 } as never),
    /^TypeError: Cannot create pool as 'idleTimout' is not an option of Pool: did you mean 'idleTimeout'\?$/,
  );
  // Every option each method documents is still taken.
  const signal = new AbortController().signal;
  const common = { permissions: "inherit" as const, signal, timeout: 10_000, transfer: [] };
  assert.equal(await pool.apply(fn, [1], common), 1);
  assert.equal(await pool.applyAsync(fn, [2], { ...common, callback() {}, errorCallback() {} }), 2);
  assert.deepEqual(await pool.map(fn, [3], { ...common, chunksize: 1 }), [3]);
  assert.deepEqual(await pool.starmap(fn, [[4]], { ...common, chunksize: 1 }), [4]);
  const callbacks = { callback() {}, errorCallback() {} };
  assert.deepEqual(await pool.mapAsync(fn, [5], { ...common, chunksize: 1, ...callbacks }), [5]);
  assert.deepEqual(await pool.starmapAsync(fn, [[6]], { ...common, chunksize: 1, ...callbacks }), [
    6,
  ]);
  for (const ordered of [true, false]) {
    const options = { ...common, chunksize: 1, window: 2 };
    const out: number[] = [];
    const results = ordered ? pool.imap(fn, [7], options) : pool.imapUnordered(fn, [7], options);
    for await (const x of results) out.push(x);
    assert.deepEqual(out, [7]);
  }
});

const THIRTY_DAYS = 30 * 24 * 3600 * 1000;
const slowly = (ms: number, value = 1) =>
  new Promise<number>((resolve) => setTimeout(() => resolve(value), ms));

Deno.test("Pool calls honour a timeout beyond the timer range, and Infinity as none", async () => {
  await using pool = new Pool(1);
  // setTimeout fires a delay of 2^31 ms or more after 1 ms: these must not.
  for (const timeout of [2 ** 31, THIRTY_DAYS, Number.MAX_VALUE, Infinity]) {
    assert.equal(await pool.apply(slowly, [30, 1], { timeout }), 1, `timeout ${timeout}`);
    assert.deepEqual(await pool.map(slowly, [30], { timeout }), [1]);
    const out: number[] = [];
    for await (const x of pool.imap(slowly, [30], { timeout })) out.push(x);
    assert.deepEqual(out, [1]);
  }
  for (const timeout of [-1, NaN, -Infinity]) {
    await assert.rejects(
      pool.apply(identity, [1], { timeout }),
      error(RangeError, /^Cannot apply as 'timeout' must be a non-negative number/),
    );
  }
  await assert.rejects(
    pool.apply(identity, [1], { timeout: 5n as never }),
    error(TypeError, /^Cannot apply as 'timeout' must be a number of milliseconds: .* bigint$/),
  );
});

Deno.test("AsyncResult.get() and wait() honour a long timeout, and Infinity as none", async () => {
  await using pool = new Pool(1);
  for (const timeoutMs of [2 ** 31, THIRTY_DAYS, Infinity]) {
    const result = pool.applyAsync(slowly, [30, 2]);
    assert.equal(await result.get(timeoutMs), 2, `get(${timeoutMs})`);
    const waited = pool.applyAsync(slowly, [30, 3]);
    await waited.wait(timeoutMs);
    assert.equal(waited.ready(), true, `wait(${timeoutMs}) returned before the call finished`);
  }
  const done = pool.applyAsync(identity, [1]);
  await done;
  for (const method of ["get", "wait"] as const) {
    // Checked even when the result is ready: a bad argument is a bug either way.
    assert.throws(
      () => done[method](NaN),
      error(RangeError, new RegExp(`^Cannot ${method}.*'timeoutMs'`)),
    );
    assert.throws(() => done[method](-1), RangeError);
    assert.throws(
      () => done[method](1n as never),
      error(TypeError, /'timeoutMs' must be a number/),
    );
    assert.throws(
      () => done[method](Symbol() as never),
      error(TypeError, /current value is symbol/),
    );
  }
});

Deno.test("new Pool() takes an idleTimeout beyond the timer range without a busy loop", async () => {
  // Every delay the pool asks of setTimeout in this test: past 2^31 - 1 ms it would fire
  // after 1 ms, and the idle sweep would find nobody idle long enough and ask again.
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return realSetTimeout(callback, ms);
  }) as typeof setTimeout;
  try {
    for (const idleTimeout of [2 ** 31, THIRTY_DAYS, Infinity]) {
      await using pool = new Pool({ size: 1, idleTimeout });
      assert.equal(await pool.apply(identity, [1]), 1);
      assert.equal(pool.stats().workers.length, 1, "the idle worker stays");
    }
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assert.deepEqual(delays.filter((ms) => !(ms <= 2 ** 31 - 1)), []);
  assert.throws(() => new Pool({ idleTimeout: NaN }), error(RangeError, /'idleTimeout'.*NaN/));
  assert.throws(() => new Pool({ idleTimeout: -1 }), error(RangeError, /'idleTimeout'/));
});

Deno.test("setLongTimeout() chains timers past the longest delay and clears any link", async () => {
  const { clearLongTimeout, setLongTimeout } = await import("../src/util/_timers.ts");
  const start = performance.now();
  // Links of at most 10 ms stand in for the 2^31 - 1 ms of real timers.
  await new Promise<void>((resolve) => setLongTimeout(resolve, 45, 10));
  assert.ok(performance.now() - start >= 45, "fired before its deadline");
  assert.equal(setLongTimeout(() => assert.fail("fired"), Infinity), undefined);
  let fired = false;
  const timer = setLongTimeout(() => fired = true, 1000, 10);
  // Cleared in the middle of its chain; the sanitizers see any link left pending.
  await new Promise((resolve) => setTimeout(resolve, 35));
  clearLongTimeout(timer);
  assert.equal(fired, false);
});

Deno.test("new Pool() refuses memoryLimitMb without process isolation", async () => {
  for (const options of [{}, { isolation: "worker" as const }]) {
    assert.throws(
      () => new Pool({ size: 1, memoryLimitMb: 64, ...options }),
      error(TypeError, /^Cannot create pool as 'memoryLimitMb' needs isolation: "process"/),
    );
  }
  await new Pool({ size: 1, memoryLimitMb: 64, isolation: "process" }).terminate();
});

Deno.test("Pool calls take a string as an iterable of its characters, as Python does", async () => {
  await using pool = new Pool(2);
  const shout = (c: string) => c.toUpperCase();
  assert.deepEqual(await pool.map(shout, "abc"), ["A", "B", "C"]);
  assert.deepEqual(await pool.mapAsync(shout, "ab", { chunksize: 1 }), ["A", "B"]);
  // Characters as for…of reads them: a code point outside the BMP is one item.
  assert.deepEqual(await pool.map((c: string) => c.length, "a😀"), [1, 2]);
  assert.deepEqual(await pool.map(shout, ""), []);
  const ordered: string[] = [];
  for await (const c of pool.imap(shout, "xyz", { chunksize: 1 })) ordered.push(c);
  assert.deepEqual(ordered, ["X", "Y", "Z"]);
  const unordered: string[] = [];
  for await (const c of pool.imapUnordered(shout, "xyz")) unordered.push(c);
  assert.deepEqual(unordered.sort(), ["X", "Y", "Z"]);
  // starmap's items are argument lists: a string's characters are not.
  await assert.rejects(pool.starmap(shout, "ab" as never), /item 0 must be an array/);
  for (const value of [5, null, undefined, true, 5n, Symbol("s")]) {
    await assert.rejects(
      pool.map(shout, value as never),
      error(TypeError, /^Cannot map as 'iterable' must be an Iterable or AsyncIterable: current/),
    );
  }
});

for (const isolation of ISOLATIONS) {
  Deno.test(
    named(
      "Pool.apply() turns hostile results and thrown values into errors, not crashes",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const exits: string[] = [];
      pool.addEventListener("workerexit", (event) => exits.push(event.detail.reason));
      for (const { name, task, expected: [kind, pattern] } of HOSTILE) {
        const outcome = await pool.apply(task).then(
          (value) => `resolved with ${Deno.inspect(value)}`,
          (error) => error,
        );
        assert.ok(outcome instanceof kind, `${name}: expected a ${kind.name}, got ${outcome}`);
        assert.match(outcome.message, pattern, name);
        assert.deepEqual(exits, [], `${name}: the worker died`);
      }
      // A thenable that calls back more than once, then throws: the first call counts.
      const fickle = () => ({
        then(resolve: (value: number) => void, reject: (error: unknown) => void) {
          resolve(1);
          resolve(2);
          reject(new Error("too late"));
          throw new Error("later still");
        },
      });
      assert.equal(await pool.apply(fickle as () => unknown), 1);
      // And in a map chunk (one chunk: a failed map stops its running chunks, and their worker).
      await assert.rejects(pool.map(HOSTILE[0]!.task, [1, 2], { chunksize: 2 }), TaskError);
      assert.equal(await pool.apply(identity, [42]), 42);
      assert.deepEqual(exits, []);
    },
  );
}

Deno.test("serveMonitor() and watchPool() refuse a bad pool or option at the call", async () => {
  await using pool = new Pool(1);
  for (const notPool of [null, undefined, 5, {}, { stats: () => ({}) }]) {
    assert.throws(
      () => serveMonitor(notPool as never),
      error(TypeError, /^Cannot serve monitor as 'pool' must be a Pool/),
    );
    assert.throws(
      () => watchPool(notPool as never, () => {}),
      error(TypeError, /^Cannot watch pool as 'pool' must be a Pool/),
    );
  }
  assert.throws(() => watchPool(pool, null as never), error(TypeError, /'onMessage'/));
  // Intervals are checked when the monitor starts, not when a client first connects.
  for (const name of ["snapshotIntervalMs", "batchMs"]) {
    for (const value of [NaN, 0, -1, Infinity, 2 ** 31]) {
      assert.throws(
        () => serveMonitor(pool, { [name]: value }),
        error(RangeError, new RegExp(`^Cannot serve monitor as '${name}' must be`)),
      );
      assert.throws(() => watchPool(pool, () => {}, { [name]: value }), RangeError);
    }
    for (const value of [5n, Symbol("ms"), "100"]) {
      assert.throws(
        () => serveMonitor(pool, { [name]: value } as never),
        error(
          TypeError,
          new RegExp(`'${name}' must be a number: current value is ${typeof value}`),
        ),
      );
    }
  }
  assert.throws(() => serveMonitor(pool, null as never), error(TypeError, /'options'.*null/));
  assert.throws(() => serveMonitor(pool, { hostname: 1 } as never), error(TypeError, /'hostname'/));
  assert.throws(
    () => serveMonitor(pool, { port: 1n } as never),
    error(TypeError, /'port'.*bigint/),
  );
  assert.throws(() => serveMonitor(pool, { port: 70000 }), error(RangeError, /'port'.*70000/));
  assert.throws(() => serveMonitor(pool, { token: 5 } as never), error(TypeError, /'token'/));
});

Deno.test("new Pool() names a BigInt or Symbol option value, and bounds the size", async () => {
  const options = [
    "size",
    "isolation",
    "maxQueue",
    "maxTasksPerWorker",
    "idleTimeout",
    "memoryLimitMb",
    "name",
    "permissions",
    "initializer",
    "initArgs",
  ];
  for (const option of options) {
    for (const value of [5n, Symbol("value")]) {
      assert.throws(
        () => new Pool({ [option]: value }),
        (thrown: unknown) => {
          assert.ok(thrown instanceof TypeError, `${option}: ${thrown}`);
          assert.match(thrown.message, new RegExp(`'${option}'`), option);
          assert.doesNotMatch(
            thrown.message,
            /Cannot convert|serialize|current value is undefined/,
          );
          return true;
        },
      );
    }
  }
  assert.throws(() => new Pool({ permissions: { net: 1n } as never }), /'permissions.net'.* 1n$/);
  assert.throws(() => new Pool(5n as never), /current value is 5n$/);
  assert.throws(
    () => new Pool(1025),
    error(RangeError, /^Cannot create pool as 'size' must be at most 1024: current value is 1025$/),
  );
  assert.throws(() => new Pool({ size: 1e9 }), RangeError);
  await new Pool(1024).terminate(); // workers start on demand: none here
});

Deno.test("Pool calls name a BigInt or Symbol option value", async () => {
  await using pool = new Pool(1);
  const names = ["permissions", "signal", "timeout", "transfer", "chunksize"];
  for (const option of names) {
    for (const value of [5n, Symbol("value")]) {
      await assert.rejects(
        pool.map(identity, [1], { [option]: value }),
        (thrown: unknown) => {
          assert.ok(thrown instanceof TypeError, `${option}: ${thrown}`);
          assert.match(thrown.message, new RegExp(`'(options\\.)?${option}'`), option);
          assert.doesNotMatch(
            thrown.message,
            /Cannot convert|serialize|current value is undefined/,
          );
          return true;
        },
      );
    }
  }
});
