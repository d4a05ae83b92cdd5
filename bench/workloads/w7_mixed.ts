/**
 * W7 — tasks of mixed, heavy-tailed length on 2 workers: about 95% of 2 ms and 5% of
 * 200 ms, half synchronous and half asynchronous, the first half submitted as applies and
 * the rest as one map, all at once. Reported: each makespan beside the best greedy schedule
 * (the first idle worker takes the next task, in submission order) computed from the run
 * times the tasks themselves measured in that very run. The ratio is the scheduling promise
 * in one figure: what waiting behind a busy worker while another is idle costs.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import { RawWorkers } from "../floors.ts";
import { check, type Step, time, type Workload } from "../harness.ts";
import { floorStep, POOL_SIZE, poolStep, taskRefs } from "../steps.ts";

/** W7 — makespan of a heavy-tailed mix against the greedy schedule of its own run times. */
export const w7: Workload = {
  id: "W7",
  title: "mixed lengths (95% 2 ms, 5% 200 ms; sync and async; applies and a map) on 2 workers",
  rows: [
    { key: "floor.greedy.ms", label: "greedy schedule of the floor's run times", unit: "ms" },
    {
      key: "floor.ms",
      label: "raw floor: a worker takes the next task when it replies",
      unit: "ms",
      ratioTo: "floor.greedy.ms",
      note: "ratio: makespan ÷ greedy",
    },
    { key: "pool.greedy.ms", label: "greedy schedule of the pool's run times", unit: "ms" },
    {
      key: "pool.ms",
      label: "pool applyAsync + map(tasks.hold)",
      unit: "ms",
      ratioTo: "pool.greedy.ms",
      note: "target ≤ 1.05×",
    },
    { key: "process.greedy.ms", label: "greedy schedule, process isolation", unit: "ms" },
    {
      key: "process.ms",
      label: 'pool, isolation: "process"',
      unit: "ms",
      ratioTo: "process.greedy.ms",
      note: "target ≤ 1.05×",
    },
  ],
  open(env) {
    const plan = mixedPlan(env.quick ? 80 : 400);
    const tasks = taskRefs(env);
    const onPool = (prefix: string) => async (pool: Pool) => {
      const half = Math.floor(plan.length / 2);
      const { ms, value } = await time(() => {
        const applies = plan.slice(0, half).map((ms) => pool.applyAsync(tasks!.hold, [ms]));
        const mapped = pool.map(tasks!.hold, plan.slice(half));
        return Promise.all([Promise.all(applies), mapped]).then(([a, m]) => [...a, ...m]);
      });
      checkRunTimes(value, prefix);
      return { [`${prefix}.ms`]: ms, [`${prefix}.greedy.ms`]: greedyMakespan(value, POOL_SIZE) };
    };
    const steps: Step[] = [
      floorStep(
        ["floor.ms", "floor.greedy.ms"],
        () => RawWorkers.start(POOL_SIZE, "hold"),
        async (raw) => {
          const { ms, value } = await time(() => greedyOnRaw(raw, plan));
          checkRunTimes(value, "floor");
          return { "floor.ms": ms, "floor.greedy.ms": greedyMakespan(value, POOL_SIZE) };
        },
      ),
      poolStep(env, ["pool.ms", "pool.greedy.ms"], {}, onPool("pool")),
      poolStep(
        env,
        ["process.ms", "process.greedy.ms"],
        { pool: { isolation: "process" }, optional: true },
        onPool("process"),
      ),
    ];
    const checkRunTimes = (runTimes: readonly number[], who: string) => {
      check(runTimes.length === plan.length, `${who}: ${runTimes.length} of ${plan.length}`);
      runTimes.forEach((ran, i) => {
        const asked = Math.abs(plan[i]!);
        check(ran >= asked * 0.9, `${who}: task ${i} held ${asked} ms but ran ${ran} ms`);
      });
    };
    return Promise.resolve({ steps });
  },
};

/** `n` task lengths, ms, the same every run: positive blocks, negative waits on a timer. */
export function mixedPlan(n: number): number[] {
  let seed = 0x5eed;
  const random = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => {
    const ms = random() < 0.05 ? 200 : 2;
    return random() < 0.5 ? ms : -ms;
  });
}

/** The makespan of the greedy schedule: in order, each task goes to the first free worker. */
export function greedyMakespan(runTimes: readonly number[], workers: number): number {
  const freeAt = new Array<number>(workers).fill(0);
  for (const ran of runTimes) {
    let first = 0;
    for (let w = 1; w < workers; w++) if (freeAt[w]! < freeAt[first]!) first = w;
    freeAt[first]! += ran;
  }
  return Math.max(...freeAt);
}

/** The floor's greedy dispatcher: each raw worker takes the next task as it replies. */
async function greedyOnRaw(raw: RawWorkers, plan: readonly number[]): Promise<number[]> {
  const out = new Array<number>(plan.length);
  let next = 0;
  const loop = async (worker: number) => {
    while (next < plan.length) {
      const i = next++;
      out[i] = await raw.callOn<number>(worker, plan[i]);
    }
  };
  await Promise.all(Array.from({ length: raw.size }, (_, w) => loop(w)));
  return out;
}
