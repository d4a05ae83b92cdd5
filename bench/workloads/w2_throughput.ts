/**
 * W2 — batched throughput: `map(square, 0..999,999)` at several chunksizes, and one task
 * per item over the first 100,000.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import { RawWorkers } from "../floors.ts";
import { check, closePool, type Step, time, type Workload } from "../harness.ts";
import { floorStep, openPool, POOL_SIZE, taskRefs } from "../steps.ts";

const CHUNKSIZES = [1_000, 10_000, 62_500, 125_000];

/** W2 — `map` throughput, batched and one task per item. */
export const w2: Workload = {
  id: "W2",
  title: "map(square, 0..999,999) by chunksize; one task per item over the first 100,000",
  rows: [
    {
      key: "floor",
      label: "raw floor: 1 message per worker (half the array each)",
      unit: "items/s",
    },
    {
      key: "pool.auto",
      label: "pool map(tasks.square), default chunksize",
      unit: "items/s",
      ratioTo: "floor",
    },
    ...CHUNKSIZES.map((chunksize) => ({
      key: `pool.c${chunksize}`,
      label: `pool map(tasks.square), chunksize ${chunksize.toLocaleString("en-US")}`,
      unit: "items/s" as const,
      ratioTo: "floor",
    })),
    { key: "floor.item", label: "raw floor: 1 message per item (first 100,000)", unit: "items/s" },
    {
      key: "pool.item",
      label: "pool map(tasks.square), chunksize 1 (first 100,000)",
      unit: "items/s",
      ratioTo: "floor.item",
    },
  ],
  open(env) {
    const n = env.quick ? 100_000 : 1_000_000;
    const perItem = env.quick ? 10_000 : 100_000;
    const input = Array.from({ length: n }, (_, i) => i);
    const itemInput = input.slice(0, perItem);
    const tasks = taskRefs(env);

    const checkSquares = (values: readonly number[], count: number, who: string) => {
      check(values.length === count, `${who}: ${values.length} results for ${count} items`);
      for (let i = 0; i < count; i++) {
        check(values[i] === i * i, `${who}: result ${i} is ${values[i]}`);
      }
    };

    // One pool for every pool row: they differ only in how the same call is chunked.
    let pool: Pool | undefined;
    const mapStep = (key: string, items: number[], chunksize: number | undefined): Step => ({
      keys: [key],
      needsPool: true,
      run: async () => {
        const options = chunksize === undefined ? {} : { chunksize };
        const { ms, value } = await time(() => pool!.map(tasks!.square, items, options));
        checkSquares(value, items.length, `pool (${key})`);
        return { [key]: (items.length * 1000) / ms };
      },
    });

    const steps: Step[] = [
      {
        keys: [],
        needsPool: true,
        setup: async () => void (pool = await openPool(env)),
        run: () => Promise.resolve({}),
        teardown: () => closePool(pool),
      },
      floorStep(
        ["floor"],
        () => RawWorkers.start(POOL_SIZE, "square", { each: true }),
        async (raw) => {
          const { ms, value } = await time(async () => {
            const half = Math.ceil(n / 2);
            const [first, second] = await Promise.all([
              raw.callOn<number[]>(0, input.slice(0, half)),
              raw.callOn<number[]>(1, input.slice(half)),
            ]);
            return first.concat(second);
          });
          checkSquares(value, n, "floor");
          return { floor: (n * 1000) / ms };
        },
      ),
      mapStep("pool.auto", input, undefined),
      ...CHUNKSIZES.map((size) => mapStep(`pool.c${size}`, input, size)),
      floorStep(["floor.item"], () => RawWorkers.start(POOL_SIZE, "square"), async (raw) => {
        const { ms, value } = await time(() =>
          Promise.all(itemInput.map((x) => raw.call<number>(x)))
        );
        checkSquares(value, perItem, "floor");
        return { "floor.item": (perItem * 1000) / ms };
      }),
      mapStep("pool.item", itemInput, 1),
    ];
    return Promise.resolve({ steps });
  },
};
