/**
 * W6 — moving data: `map(sumF64, 64 × 1 MiB Float64Array)` by structured-clone copy, and by
 * transfer (the buffers are detached afterwards, and checked to be).
 *
 * @module
 */

import { RawWorkers } from "../floors.ts";
import { check, type Step, time, type Workload } from "../harness.ts";
import { POOL_SIZE, poolStep, taskRefs } from "../steps.ts";
import { sumF64 } from "../tasks.ts";

const ARRAY_LENGTH = (1024 * 1024) / Float64Array.BYTES_PER_ELEMENT; // 1 MiB each

/** W6 — copy and transfer of big typed arrays, pool beside floor. */
export const w6: Workload = {
  id: "W6",
  title: "map(sumF64, 64 × 1 MiB Float64Array): by copy, and by transfer",
  rows: [
    { key: "floor.copy", label: "raw floor: copy, 1 message per array", unit: "ms" },
    {
      key: "pool.copy",
      label: "pool map(tasks.sumF64), copy",
      unit: "ms",
      ratioTo: "floor.copy",
    },
    { key: "floor.transfer", label: "raw floor: transfer, 1 message per array", unit: "ms" },
    {
      key: "pool.transfer",
      label: "pool map(tasks.sumF64, { transfer })",
      unit: "ms",
      ratioTo: "floor.transfer",
      note: "buffers checked detached after",
    },
  ],
  open(env) {
    const count = env.quick ? 16 : 64;
    const makeArrays = () =>
      Array.from({ length: count }, (_, k) => {
        const values = new Float64Array(ARRAY_LENGTH);
        for (let j = 0; j < ARRAY_LENGTH; j++) values[j] = (j % 1024) + k;
        return values;
      });
    const copied = makeArrays();
    // Small integers: every sum is exact, whatever the order of the additions.
    const expected = copied.map(sumF64);
    const tasks = taskRefs(env);
    const checkSums = (sums: readonly number[], who: string) => {
      check(sums.length === count, `${who}: ${sums.length} sums for ${count} arrays`);
      sums.forEach((sum, k) => check(sum === expected[k], `${who}: sum ${k} is ${sum}`));
    };
    const checkDetached = (arrays: readonly Float64Array[], who: string) => {
      // Not a wrong result but a missing feature: the row is then n/a, not a failure.
      if (!arrays.every((values) => values.buffer.byteLength === 0)) {
        throw new Error(`${who}: the buffers were copied, not transferred (not detached)`);
      }
    };

    let raw: RawWorkers | undefined;
    const steps: Step[] = [
      {
        keys: ["floor.copy"],
        setup: async () => void (raw = await RawWorkers.start(POOL_SIZE, "sumF64")),
        run: async () => {
          const { ms, value } = await time(() =>
            Promise.all(copied.map((values) => raw!.call<number>(values)))
          );
          checkSums(value, "floor copy");
          return { "floor.copy": ms };
        },
        teardown: () => raw?.close(),
      },
      {
        keys: ["floor.transfer"],
        run: async () => {
          const arrays = makeArrays();
          const { ms, value } = await time(() =>
            Promise.all(arrays.map((values) => raw!.call<number>(values, [values.buffer])))
          );
          checkSums(value, "floor transfer");
          checkDetached(arrays, "floor transfer");
          return { "floor.transfer": ms };
        },
      },
      poolStep(env, ["pool.copy"], {}, async (pool) => {
        const { ms, value } = await time(() => pool.map(tasks!.sumF64, copied));
        checkSums(value, "pool copy");
        return { "pool.copy": ms };
      }),
      poolStep(env, ["pool.transfer"], { optional: true }, async (pool) => {
        const arrays = makeArrays();
        const transfer = arrays.map((values) => values.buffer);
        const { ms, value } = await time(() => pool.map(tasks!.sumF64, arrays, { transfer }));
        checkSums(value, "pool transfer");
        checkDetached(arrays, "pool transfer");
        return { "pool.transfer": ms };
      }),
    ];
    return Promise.resolve({ steps });
  },
};
