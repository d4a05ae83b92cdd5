import assert from "node:assert/strict";
import { Pool, taskModule } from "../mod.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(fixture("math.ts"));

for (const isolation of ISOLATIONS) {
  Deno.test(
    named("Pool lanes share one worker slot: no permission set starves another", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const perWorker = new Map<number, string>();
      pool.addEventListener(
        "workerspawn",
        (e) => perWorker.set(e.detail.workerId, e.detail.permissions),
      );
      const ranOn: { lane: string; worker: number }[] = [];
      pool.addEventListener("taskend", (e) => {
        ranOn.push({ lane: perWorker.get(e.detail.workerId) ?? "?", worker: e.detail.workerId });
      });
      // Lane "inherit" has a long queue; one task of lane "none" arrives behind it.
      const busy = Array.from({ length: 6 }, (_, i) => pool.apply(math.later, [i, 20]));
      const scoped = pool.apply(math.square, [7], { permissions: "none" });
      const more = Array.from({ length: 3 }, (_, i) => pool.apply(math.later, [i, 5]));
      assert.equal(await scoped, 49);
      assert.deepEqual(await Promise.all(busy), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(await Promise.all(more), [0, 1, 2]);
      // The scoped task ran on a worker of its own set, before the inherit queue was empty.
      const scopedAt = ranOn.findIndex((r) => r.lane === "none");
      assert.ok(scopedAt >= 0);
      assert.ok(scopedAt < ranOn.length - 1, "the scoped task waited for every other task");
      assert.ok(
        pool.stats().workers.filter((w) => w.state !== "exiting").length <= 1,
        "never more workers than size",
      );
      for (const { lane, worker } of ranOn) assert.equal(perWorker.get(worker), lane);
    },
  );
}
