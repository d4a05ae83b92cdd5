import assert from "node:assert/strict";
import { Pool, type TaskFn } from "../mod.ts";
import { FunctionTable, MAX_DEFINITIONS, taskName } from "../src/core/task.ts";
import { MAX_WORKER_FUNCTIONS } from "../src/core/worker_handle.ts";
import { ISOLATIONS, named } from "./_isolation.ts";

/** `count` functions of distinct sources: the one at `i` adds `i`. */
function distinctFunctions(count: number, from = 0): ((x: number) => number)[] {
  return Array.from(
    { length: count },
    (_, i) => new Function("x", `return x + ${from + i};`) as (x: number) => number,
  );
}

Deno.test("FunctionTable gives fresh closures of one source one definition", () => {
  const table = new FunctionTable();
  const first = table.resolve((x: number) => x + 1, "fn");
  for (let i = 0; i < 10_000; i++) {
    assert.equal(table.resolve((x: number) => x + 1, "fn"), first);
  }
  assert.equal(table.size, 1);
  // Another source, or the same source under another name, is another task.
  assert.notEqual(table.resolve((x: number) => x + 2, "fn"), first);
  const double = (x: number) => x * 2;
  const twice = (x: number) => x * 2;
  const [a, b] = [table.resolve(double, "fn"), table.resolve(twice, "fn")];
  assert.notEqual(a.fnId, b.fnId);
  assert.deepEqual([taskName(a), taskName(b)], ["double", "twice"]);
  assert.equal(table.resolve(twice, "fn"), b);
});

Deno.test("FunctionTable keeps at most MAX_DEFINITIONS sources, and still resolves dropped ones", () => {
  const table = new FunctionTable();
  const functions = distinctFunctions(2 * MAX_DEFINITIONS);
  const definitions = functions.map((fn) => table.resolve(fn, "fn"));
  assert.equal(table.size, MAX_DEFINITIONS);
  assert.equal(new Set(definitions.map((d) => d.fnId)).size, functions.length);
  // The first were dropped by source, not by identity: the same function keeps its own.
  assert.equal(table.resolve(functions[0]!, "fn"), definitions[0]);
  // A fresh function of a dropped source is defined again, with a new number.
  const again = table.resolve(distinctFunctions(1)[0]!, "fn");
  assert.equal(
    again.kind === "inline" && again.source,
    (definitions[0] as { source: string }).source,
  );
  assert.ok(again.fnId > definitions.at(-1)!.fnId);
  assert.equal(table.size, MAX_DEFINITIONS);
});

/**
 * A function that counts its own calls in the worker: the count goes on as long as the
 * worker keeps the function it compiled, and restarts when it compiles it again.
 */
function counter(): number {
  const self = counter as unknown as { calls?: number };
  self.calls = (self.calls ?? 0) + 1;
  return self.calls;
}

for (const isolation of ISOLATIONS) {
  Deno.test(
    named("Pool.apply() of fresh closures of one source compiles it once per worker", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const counts: number[] = [];
      for (let i = 0; i < 50; i++) {
        // A fresh function object per call, as a loop that writes the function inline makes.
        const fresh = new Function(`return (${counter})`)() as TaskFn;
        assert.notEqual(fresh, counter);
        counts.push(await pool.apply(fresh) as number);
      }
      assert.deepEqual(counts, Array.from({ length: 50 }, (_, i) => i + 1));
    },
  );

  Deno.test(
    named("Pool workers keep a bounded set of functions and get a forgotten one again", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      assert.deepEqual([await pool.apply(counter), await pool.apply(counter)], [1, 2]);
      const others = distinctFunctions(MAX_WORKER_FUNCTIONS + 10, 1000);
      for (const [i, fn] of others.entries()) assert.equal(await pool.apply(fn, [1]), 1001 + i);
      // The worker forgot it, and compiled it again when the pool sent it again.
      assert.equal(await pool.apply(counter), 1);
      assert.equal(await pool.apply(others[0]!, [1]), 1001);
    },
  );

  Deno.test(
    named("Pool workers never forget a function that a task sent ahead still needs", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const functions = distinctFunctions(MAX_WORKER_FUNCTIONS * 2, 5000);
      // Known to be quick, so the pool sends many tasks ahead in each batch.
      for (const fn of functions) await pool.apply(fn, [0]);
      const slow = () => new Promise((resolve) => setTimeout(() => resolve("slow"), 100));
      const head = pool.apply(slow);
      const results = await Promise.all(
        [...functions, ...functions].map((fn) => pool.apply(fn, [1])),
      );
      assert.equal(await head, "slow");
      assert.deepEqual(
        results,
        [...functions, ...functions].map((_, i) => 5001 + (i % functions.length)),
      );
    },
  );
}
