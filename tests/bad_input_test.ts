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
