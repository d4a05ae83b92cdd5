// The wire forms between pool and worker: a lone call travels as two small arrays (the
// cheapest thing to clone), everything else as columnar batches. These tests pin both ends
// of that contract without a thread in between, so a change that silently falls back to
// the slower form (or breaks the fast one) fails here and not only in the benchmark.
import assert from "node:assert/strict";
import { Pool } from "../mod.ts";
import { type FromWorker, isLoneTask, type ToWorker } from "../src/wire/protocol.ts";
import type { TransportFactory } from "../src/transport/transport.ts";
import { createRuntime } from "../workers/runtime.ts";

/** A runtime on a port that clones each message as postMessage would, keeping them. */
function runtimeWithPort() {
  const sent: FromWorker[] = [];
  const runtime = createRuntime({
    post: (message) => sent.push(structuredClone(message)),
    close: () => {},
  });
  return { runtime, sent };
}

const double = { kind: "inline", fnId: 1, name: "double", source: "(x) => x * 2" } as const;
const fail = {
  kind: "inline",
  fnId: 2,
  name: "fail",
  source: "() => { throw new RangeError('no') }",
} as const;
const unclonable = { kind: "inline", fnId: 3, name: "fn", source: "() => () => 1" } as const;

function define(runtime: ReturnType<typeof createRuntime>, sent: FromWorker[]): void {
  runtime.receive({
    type: "run",
    defines: [double, fail, unclonable],
    ids: [100],
    fnIds: [1],
    modes: [0],
    args: [[1]],
  });
  sent.length = 0;
}

Deno.test("runtime: a lone task is answered with one [id, start, runMs, value] array", () => {
  const { runtime, sent } = runtimeWithPort();
  define(runtime, sent);
  const before = performance.timeOrigin + performance.now();
  runtime.receive([7, 1, 0, [21]]);
  assert.equal(sent.length, 1);
  const reply = sent[0]!;
  assert.ok(Array.isArray(reply), `expected an array, got ${JSON.stringify(reply)}`);
  const [id, start, runMs, value] = reply as readonly [number, number, number, unknown];
  assert.equal(id, 7);
  assert.equal(value, 42);
  assert.ok(start >= before - 1, `start ${start} is before the task was sent (${before})`);
  assert.ok(runMs >= 0);
});

Deno.test("runtime: a lone task that throws is answered in the columnar form, with its error", () => {
  const { runtime, sent } = runtimeWithPort();
  define(runtime, sent);
  runtime.receive([8, 2, 0, []]);
  assert.equal(sent.length, 1);
  const reply = sent[0]! as Extract<FromWorker, { type: "results" }>;
  assert.equal(reply.type, "results");
  assert.deepEqual(reply.ids, [8]);
  assert.equal(reply.failures.length, 1);
  const thrown = reply.failures[0]![1].thrown;
  assert.equal(thrown.kind === "error" && thrown.name, "RangeError");
});

Deno.test("runtime: a lone result that cannot be cloned fails alone with a TypeError", () => {
  // The port clones as postMessage does, so a function result throws DataCloneError there.
  const { runtime, sent } = runtimeWithPort();
  define(runtime, sent);
  runtime.receive([9, 3, 0, []]);
  assert.equal(sent.length, 1);
  const reply = sent[0]! as Extract<FromWorker, { type: "results" }>;
  assert.equal(reply.type, "results");
  assert.deepEqual(reply.ids, [9]);
  const failure = reply.failures[0]![1];
  assert.equal(failure.as, "type");
  assert.match(failure.thrown.kind === "error" ? failure.thrown.message : "", /structured-clone/);
});

Deno.test("runtime: a batch is answered in one columnar message, failures by index", () => {
  const { runtime, sent } = runtimeWithPort();
  define(runtime, sent);
  runtime.receive({
    type: "run",
    defines: [],
    ids: [20, 21, 22, 23],
    fnIds: [1, 1, 2, 1],
    modes: [0, 0, 0, 0],
    args: [[1], [2], [], [4]],
  });
  assert.equal(sent.length, 1);
  const reply = sent[0]! as Extract<FromWorker, { type: "results" }>;
  assert.equal(reply.type, "results");
  assert.deepEqual(reply.ids, [20, 21, 22, 23]);
  assert.deepEqual([reply.values[0], reply.values[1], reply.values[3]], [2, 4, 8]);
  assert.deepEqual(reply.failures.map(([at]) => at), [2]);
  assert.equal(reply.starts.length, 4);
  assert.equal(reply.runMs.length, 4);
  // And the next lone task is a lone result again: nothing of the batch is left over.
  runtime.receive([24, 1, 0, [5]]);
  assert.deepEqual((sent[1] as readonly unknown[])[0], 24);
  assert.deepEqual((sent[1] as readonly unknown[])[3], 10);
});

Deno.test("pool: the first call of a function defines it in a batch; later lone calls are arrays", async () => {
  const toWorker: ToWorker[] = [];
  // A transport that runs the real runtime in this thread, recording what the pool sends.
  const transport: TransportFactory = ({ listener }) => {
    const runtime = createRuntime({
      post: (message) => queueMicrotask(() => listener.message(structuredClone(message))),
      close: () => {},
    });
    return {
      send(message) {
        toWorker.push(message);
        runtime.receive(structuredClone(message));
      },
      terminate: () => Promise.resolve(),
    };
  };
  await using pool = new Pool({ size: 1, transport } as ConstructorParameters<typeof Pool>[0]);
  const square = (x: number) => x * x;
  assert.equal(await pool.apply(square, [3]), 9);
  assert.equal(await pool.apply(square, [4]), 16);
  assert.equal(await pool.apply(square, [5]), 25);
  const runs = toWorker.filter((m) => !isLoneTask(m) && m.type === "run");
  const lone = toWorker.filter(isLoneTask);
  assert.equal(runs.length, 1, "only the first call carries the definition");
  assert.equal(lone.length, 2);
  assert.deepEqual(lone.map((m) => m[3]), [[4], [5]]);
  assert.equal(pool.stats().completed, 3);
});
