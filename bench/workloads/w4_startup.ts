/**
 * W4 — a whole short program: start, create a pool, `apply(identity, [1])`, print, end;
 * timed as fresh `deno run` processes, net of a bare `deno run` hello-world timed in the
 * same run.
 *
 * @module
 */

import { median, type Step, type Workload } from "../harness.ts";
import { runScript } from "../subprocess.ts";

/** How a script step is run. */
interface ScriptOptions {
  readonly needsPool?: boolean;
  readonly optional?: boolean;
  readonly expected?: string;
  /** Spawns per run; the run keeps their median (one spawn is at the mercy of the machine). */
  readonly repeat: number;
}

/** A step that times one script (the median wall time under `<key>.wall`). */
function scriptStep(key: string, script: string, args: string[], options: ScriptOptions): Step {
  return {
    keys: [`${key}.wall`, key],
    needsPool: options.needsPool ?? false,
    optional: options.optional ?? false,
    run: async () => {
      const walls: number[] = [];
      for (let i = 0; i < options.repeat; i++) {
        walls.push((await runScript(script, args, options.expected ?? "1")).ms);
      }
      return { [`${key}.wall`]: median(walls) };
    },
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
  title: "a whole process: create pool of 2, apply(identity, [1]), print, end; median of " +
    "3 spawns per run, net of a bare `deno run`",
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
  open(env) {
    const repeat = env.quick ? 1 : 3;
    const floor = { repeat };
    const pool = { needsPool: true, repeat };
    const processPool = { needsPool: true, optional: true, repeat };
    return Promise.resolve({
      steps: [
        scriptStep("bare", "hello.ts", [], { expected: "hello", repeat }),
        scriptStep("floor.exit", "w4_raw.ts", ["exit"], floor),
        scriptStep("floor.graceful", "w4_raw.ts", ["graceful"], floor),
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
