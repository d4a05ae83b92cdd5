/**
 * W3 — parallel speedup of CPU-bound tasks: 8 × `monteCarlo(2,000,000)` on the main thread,
 * then on the pool (chunksize 1), then on 2 raw workers.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import { RawWorkers } from "../floors.ts";
import { check, type Step, time, type Workload } from "../harness.ts";
import { floorStep, POOL_SIZE, poolStep, taskRefs } from "../steps.ts";
import { monteCarlo } from "../tasks.ts";

/** W3 — speedup over the main thread, pool beside floor. */
export const w3: Workload = {
  id: "W3",
  title: "8 × monteCarlo(2,000,000): sequential on the main thread, then on 2 workers",
  rows: [
    { key: "seq.ms", label: "sequential, main thread", unit: "ms" },
    { key: "floor.ms", label: "raw floor: 8 messages over 2 workers", unit: "ms" },
    {
      key: "pool.ms",
      label: "pool map(tasks.monteCarlo), chunksize 1",
      unit: "ms",
      ratioTo: "floor.ms",
    },
    { key: "floor", label: "raw floor speedup (sequential ÷ floor)", unit: "×" },
    { key: "pool", label: "pool speedup (sequential ÷ pool)", unit: "×", ratioTo: "floor" },
    {
      key: "process",
      label: 'pool, isolation: "process", speedup',
      unit: "×",
      ratioTo: "floor",
      note: "Python multiprocessing.Pool: 1.76",
    },
  ],
  open(env) {
    const points = env.quick ? 200_000 : 2_000_000;
    const input = new Array<number>(8).fill(points);
    const tasks = taskRefs(env);
    const checkCounts = (counts: readonly number[], who: string) => {
      check(counts.length === 8, `${who}: ${counts.length} results for 8 tasks`);
      for (const count of counts) {
        const pi = (4 * count) / points;
        check(Math.abs(pi - Math.PI) < 0.05, `${who}: monteCarlo estimated π as ${pi}`);
      }
    };
    const onPool = (key: string) => async (pool: Pool) => {
      const { ms, value } = await time(() => pool.map(tasks!.monteCarlo, input, { chunksize: 1 }));
      checkCounts(value, key);
      return { [key]: ms };
    };
    const steps: Step[] = [
      {
        keys: ["seq.ms"],
        run: async () => {
          const { ms, value } = await time(() => Promise.resolve(input.map(monteCarlo)));
          checkCounts(value, "sequential");
          return { "seq.ms": ms };
        },
      },
      floorStep(
        ["floor.ms", "floor"],
        () => RawWorkers.start(POOL_SIZE, "monteCarlo"),
        async (raw) => {
          const { ms, value } = await time(() =>
            Promise.all(input.map((n) => raw.call<number>(n)))
          );
          checkCounts(value, "floor");
          return { "floor.ms": ms };
        },
      ),
      poolStep(env, ["pool.ms", "pool"], {}, onPool("pool.ms")),
      poolStep(
        env,
        ["process.ms", "process"],
        { pool: { isolation: "process" }, optional: true },
        onPool("process.ms"),
      ),
    ];
    return Promise.resolve({
      steps,
      derive(values) {
        const sequential = values["seq.ms"];
        const speedups: Record<string, number> = {};
        if (sequential === undefined) return speedups;
        for (const key of ["floor", "pool", "process"]) {
          const ms = values[`${key}.ms`];
          if (ms !== undefined) speedups[key] = sequential / ms;
        }
        return speedups;
      },
    });
  },
};
