/**
 * Bad input gets a clear error at the call, never a dead process or worker (issue 10, §4):
 * each test here feeds the pool one kind of bad argument or hostile value.
 */
import assert from "node:assert/strict";
import { Pool } from "../mod.ts";

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
