import assert from "node:assert/strict";
import fc from "fast-check";
import { permissionsKey, Pool } from "../mod.ts";
import { Fifo } from "../src/util/_fifo.ts";
import { SlotList } from "../src/core/_slots.ts";
import { decodeFrame, encodeFrame, FrameDecoder, loadV8 } from "../src/wire/_frames.ts";

Deno.test("Pool.map() equals Array.prototype.map for any input and chunksize", async () => {
  await using pool = new Pool(2);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300, size: "max" }),
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
      fc.array(fc.integer(), { maxLength: 200, size: "max" }),
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

Deno.test("Fifo (the ring buffer under every queue) behaves as an array", () => {
  type Op =
    | { op: "push" | "unshift" | "remove"; value: number }
    | { op: "shift" | "clear" };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: fc.record({ op: fc.constant("push" as const), value: fc.nat(50) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("unshift" as const), value: fc.nat(50) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("remove" as const), value: fc.nat(50) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant("shift" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
  );
  // Pushes outweigh takes, so the queue wraps around and grows (from 8) while not empty.
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300, size: "max" }), (ops) => {
      const fifo = new Fifo<number>();
      const model: number[] = [];
      for (const step of ops) {
        switch (step.op) {
          case "push":
            fifo.push(step.value);
            model.push(step.value);
            break;
          case "unshift":
            fifo.unshift(step.value);
            model.unshift(step.value);
            break;
          case "shift":
            assert.equal(fifo.shift(), model.shift());
            break;
          case "remove": {
            const at = model.indexOf(step.value);
            if (at >= 0) model.splice(at, 1);
            assert.equal(fifo.remove(step.value), at >= 0);
            break;
          }
          case "clear":
            fifo.clear();
            model.length = 0;
        }
        assert.equal(fifo.length, model.length);
        assert.equal(fifo.peek(), model[0]);
      }
      assert.deepEqual([...fifo], model);
    }),
    { numRuns: 300 },
  );
});

Deno.test("SlotList (the pool's live jobs) behaves as a Set", () => {
  type Member = { slot: number; name: number };
  const members: Member[] = Array.from({ length: 12 }, (_, name) => ({ slot: -1, name }));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(11)), { maxLength: 200, size: "max" }),
      (ops) => {
        for (const member of members) member.slot = -1;
        const list = new SlotList<Member>();
        const model = new Set<Member>();
        for (const [add, index] of ops) {
          const member = members[index]!;
          if (add) {
            if (model.has(member)) continue; // a member is in one list at most once
            list.add(member);
            model.add(member);
          } else {
            assert.equal(list.delete(member), model.delete(member));
          }
          assert.equal(list.size, model.size);
          assert.deepEqual(
            list.toArray().map((m) => m.name).sort((a, b) => a - b),
            [...model].map((m) => m.name).sort((a, b) => a - b),
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** A message through a process worker's frames: encoded, cut by the decoder, decoded. */
function throughFrames(message: unknown): { value: unknown; kind: number } {
  const payloads: Uint8Array[] = [];
  new FrameDecoder().push(encodeFrame(message)!, (payload) => payloads.push(payload));
  assert.equal(payloads.length, 1);
  return { value: decodeFrame(payloads[0]!), kind: payloads[0]![0]! };
}

Deno.test("process frames carry any value exactly as a structured clone would", async () => {
  await loadV8();
  fc.assert(
    fc.property(
      fc.anything({
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withSparseArray: true,
        withTypedArray: true,
        maxDepth: 10,
      }),
      (value) => {
        assert.deepStrictEqual(throughFrames(value).value, structuredClone(value));
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("process frames use the fast encoding for plain messages, node:v8 for the rest", async () => {
  await loadV8();
  const SIMPLE = 1;
  const lone = [7, 1, 0, [{ name: "x", tags: ["a", "b"], n: -0, ok: true, none: null }]];
  assert.equal(throughFrames(lone).kind, SIMPLE);
  assert.deepStrictEqual(throughFrames(lone).value, lone);
  const withProto = JSON.parse('{"__proto__": 1, "a": 2}');
  assert.deepStrictEqual(throughFrames(withProto).value, structuredClone(withProto));
  for (const value of [new Float64Array(4), new Date(0), new Map(), 1n, [1, , 3], new Error("e")]) {
    assert.notEqual(throughFrames(value).kind, SIMPLE, `${Deno.inspect(value)} went the fast way`);
  }
  const extra = Object.assign([1, 2], { label: "kept" });
  assert.deepStrictEqual(throughFrames(extra).value, structuredClone(extra));
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const back = throughFrames(cyclic).value as Record<string, unknown>;
  assert.equal(back.self, back);
  assert.throws(
    () => encodeFrame({ fn: () => 1 }),
    /could not be cloned|DataCloneError|cannot be cloned/i,
  );
});
