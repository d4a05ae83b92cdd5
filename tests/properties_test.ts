import assert from "node:assert/strict";
import fc from "fast-check";
import { permissionsKey, Pool } from "../mod.ts";

Deno.test("Pool.map() equals Array.prototype.map for any input and chunksize", async () => {
  await using pool = new Pool(2);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }),
      fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
      async (xs, chunksize) => {
        const options = chunksize === undefined ? {} : { chunksize };
        const out = await pool.map((x: number) => x * 3 - 1, xs, options);
        assert.deepEqual(out, xs.map((x) => x * 3 - 1));
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("Pool.imapUnordered() yields every result exactly once", async () => {
  await using pool = new Pool(2);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer(), { maxLength: 200 }),
      fc.integer({ min: 1, max: 16 }),
      async (xs, chunksize) => {
        const out: number[] = [];
        for await (const y of pool.imapUnordered((x: number) => x, xs, { chunksize })) out.push(y);
        assert.deepEqual(out.sort((a, b) => a - b), [...xs].sort((a, b) => a - b));
      },
    ),
    { numRuns: 30 },
  );
});

Deno.test("permissionsKey() gives equal sets equal keys, whatever the order", () => {
  const hosts = fc.uniqueArray(fc.constantFrom("a.com", "b.com", "c.org", "d.net"), {
    minLength: 1,
  });
  fc.assert(
    fc.property(hosts, fc.boolean(), (list, env) => {
      const shuffled = [...list].reverse();
      const a = permissionsKey({ net: list, env, read: false });
      const b = permissionsKey({ env, net: [...shuffled, ...shuffled] });
      assert.equal(a, b);
      assert.ok(!a.includes("read"));
    }),
  );
});
