/**
 * W4 — a whole short program: start, create a pool, `apply(identity, [1])`, print, end;
 * timed as fresh `deno run` processes, net of a bare `deno run` hello-world timed in the
 * same run.
 *
 * @module
 */

import type { Step, Workload } from "../harness.ts";
import { runScript } from "../subprocess.ts";

/** A step that times one script (its wall time under `<key>.wall`). */
function scriptStep(
  key: string,
  script: string,
  args: string[],
  options: { needsPool?: boolean; optional?: boolean; expected?: string } = {},
): Step {
  return {
    keys: [`${key}.wall`, key],
    needsPool: options.needsPool ?? false,
    optional: options.optional ?? false,
    run: async () => ({
      [`${key}.wall`]: (await runScript(script, args, options.expected ?? "1")).ms,
    }),
  };
}

const NETS = [
  "floor.exit",
  "floor.graceful",
  "pool.exit",
  "pool.graceful",
  "process.exit",
  "process.graceful",
];

/** W4 — process start-up to first result, and to a graceful end. */
export const w4: Workload = {
  id: "W4",
  title: "a whole process: create pool of 2, apply(identity, [1]), print, end (net of bare Deno)",
  rows: [
    { key: "bare", label: "bare `deno run` hello-world (absolute)", unit: "ms" },
    { key: "floor.exit", label: "raw floor: 2 Workers, Deno.exit after first result", unit: "ms" },
    { key: "floor.graceful", label: "raw floor: terminate Workers, natural end", unit: "ms" },
    {
      key: "pool.exit",
      label: "pool: Deno.exit after first result",
      unit: "ms",
      ratioTo: "floor.exit",
    },
    {
      key: "pool.graceful",
      label: "pool: close() + join(), natural end",
      unit: "ms",
      ratioTo: "floor.graceful",
    },
    {
      key: "process.exit",
      label: 'pool, isolation: "process": Deno.exit after first result',
      unit: "ms",
      ratioTo: "floor.exit",
      note: "Python spawn: 175 ms",
    },
    {
      key: "process.graceful",
      label: 'pool, isolation: "process": close() + join()',
      unit: "ms",
      ratioTo: "floor.graceful",
      note: "Python spawn: 127 ms",
    },
  ],
  open() {
    const pool = { needsPool: true };
    const processPool = { needsPool: true, optional: true };
    return Promise.resolve({
      steps: [
        scriptStep("bare", "hello.ts", [], { expected: "hello" }),
        scriptStep("floor.exit", "w4_raw.ts", ["exit"]),
        scriptStep("floor.graceful", "w4_raw.ts", ["graceful"]),
        scriptStep("pool.exit", "w4_pool.ts", ["worker", "exit"], pool),
        scriptStep("pool.graceful", "w4_pool.ts", ["worker", "graceful"], pool),
        scriptStep("process.exit", "w4_pool.ts", ["process", "exit"], processPool),
        scriptStep("process.graceful", "w4_pool.ts", ["process", "graceful"], processPool),
      ],
      derive(values) {
        const bare = values["bare.wall"];
        const nets: Record<string, number> = {};
        if (bare === undefined) return nets;
        nets.bare = bare;
        for (const key of NETS) {
          const wall = values[`${key}.wall`];
          if (wall !== undefined) nets[key] = wall - bare;
        }
        return nets;
      },
    });
  },
};
