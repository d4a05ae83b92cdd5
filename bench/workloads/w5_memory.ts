/**
 * W5 — memory: the peak RSS of a process holding an idle pool of 2 and of 8 (after each
 * worker ran one task), as MiB per worker above a bare Deno process.
 *
 * @module
 */

import type { Step, Workload } from "../harness.ts";
import { hasGnuTime, peakRssMiB } from "../subprocess.ts";

function rssStep(kind: "bare" | "raw" | "pool", size: number, needsPool = false): Step {
  const side = kind === "raw" ? "floor" : "pool";
  const key = kind === "bare" ? "bare" : `${side}.rss${size}`;
  // The derived rows go with the measurement they need, so a skip explains them too.
  const derived = kind === "bare" ? [] : [`${side}.per${size}`, `${side}.marginal`];
  return {
    keys: [key, ...derived],
    needsPool,
    run: async () => ({ [key]: await peakRssMiB("w5_idle.ts", [kind, String(size)], "ok") }),
  };
}

/** W5 — MiB per worker, pool beside raw Workers. */
export const w5: Workload = {
  id: "W5",
  title: "idle pool of 2 and of 8 after each worker ran one task: peak RSS (/usr/bin/time -v)",
  rows: [
    { key: "bare", label: "bare `deno run` (absolute peak RSS)", unit: "MiB" },
    { key: "floor.per2", label: "raw floor, 2 workers: MiB per worker above bare", unit: "MiB" },
    { key: "floor.per8", label: "raw floor, 8 workers: MiB per worker above bare", unit: "MiB" },
    { key: "floor.marginal", label: "raw floor: marginal MiB per worker, 2 → 8", unit: "MiB" },
    {
      key: "pool.per2",
      label: "pool of 2: MiB per worker above bare",
      unit: "MiB",
      ratioTo: "floor.per2",
    },
    {
      key: "pool.per8",
      label: "pool of 8: MiB per worker above bare",
      unit: "MiB",
      ratioTo: "floor.per8",
    },
    {
      key: "pool.marginal",
      label: "pool: marginal MiB per worker, 2 → 8",
      unit: "MiB",
      ratioTo: "floor.marginal",
    },
  ],
  async open() {
    const steps = [
      rssStep("bare", 0),
      rssStep("raw", 2),
      rssStep("raw", 8),
      rssStep("pool", 2, true),
      rssStep("pool", 8, true),
    ];
    if (!(await hasGnuTime())) {
      const missing: Step = {
        keys: steps.flatMap((step) => step.keys),
        optional: true,
        run: () => Promise.reject(new Error("/usr/bin/time is not installed")),
      };
      return { steps: [missing] };
    }
    return {
      steps,
      derive(values) {
        const derived: Record<string, number> = {};
        const bare = values.bare;
        for (const side of ["floor", "pool"]) {
          const two = values[`${side}.rss2`];
          const eight = values[`${side}.rss8`];
          if (bare !== undefined && two !== undefined) derived[`${side}.per2`] = (two - bare) / 2;
          if (bare !== undefined && eight !== undefined) {
            derived[`${side}.per8`] = (eight - bare) / 8;
          }
          if (two !== undefined && eight !== undefined) {
            derived[`${side}.marginal`] = (eight - two) / 6;
          }
        }
        return derived;
      },
    };
  },
};
