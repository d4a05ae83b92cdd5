/**
 * W7 — tasks of mixed, heavy-tailed length on 2 workers: about 95% of 2 ms and 5% of
 * 200 ms, half synchronous and half asynchronous, arriving in waves (each wave some
 * applies, then a map), so that the queue runs dry again and again, as real work does.
 * Reported: each makespan beside the best greedy schedule (in submission order, each task
 * goes to the first free worker, never before it arrived) computed from the arrival times
 * and the run times the tasks themselves measured in that very run. The ratio is the
 * scheduling promise in one figure: what waiting behind a busy worker while another is idle
 * costs.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import { RawWorkers } from "../floors.ts";
import { check, type Step, type Workload } from "../harness.ts";
import { floorStep, POOL_SIZE, poolStep, taskRefs } from "../steps.ts";

/** Tasks per wave, and the time between waves: about what 2 workers need for a wave. */
const WAVE = 20;
const WAVE_GAP_MS = 120;

/** W7 — makespan of a heavy-tailed mix against the greedy schedule of its own run times. */
export const w7: Workload = {
  id: "W7",
  title: `mixed lengths (95% 2 ms, 5% 200 ms; sync and async), as applies then a map, on 2 ` +
    `workers: all at once, and in waves of ${WAVE} every ${WAVE_GAP_MS} ms`,
  rows: (["once", "waves"] as const).flatMap((arrival) => {
    const how = arrival === "once" ? "all at once" : "in waves";
    return [
      {
        key: `floor.${arrival}.greedy.ms`,
        label: `${how}: greedy schedule of the floor's run times`,
        unit: "ms" as const,
      },
      {
        key: `floor.${arrival}.ms`,
        label: `${how}: raw floor, a worker takes the next task when it replies`,
        unit: "ms" as const,
        ratioTo: `floor.${arrival}.greedy.ms`,
        note: "ratio: makespan ÷ greedy",
      },
      {
        key: `pool.${arrival}.greedy.ms`,
        label: `${how}: greedy schedule of the pool's run times`,
        unit: "ms" as const,
      },
      {
        key: `pool.${arrival}.ms`,
        label: `${how}: pool applyAsync + map(tasks.hold)`,
        unit: "ms" as const,
        ratioTo: `pool.${arrival}.greedy.ms`,
        note: "target ≤ 1.05×",
      },
      {
        key: `process.${arrival}.greedy.ms`,
        label: `${how}: greedy schedule, process isolation`,
        unit: "ms" as const,
      },
      {
        key: `process.${arrival}.ms`,
        label: `${how}: pool, isolation: "process"`,
        unit: "ms" as const,
        ratioTo: `process.${arrival}.greedy.ms`,
        note: "target ≤ 1.05×",
      },
    ];
  }),
  open(env) {
    const plan = mixedPlan(env.quick ? 4 * WAVE : 20 * WAVE);
    const tasks = taskRefs(env);
    const checkRunTimes = (runTimes: readonly number[], who: string) => {
      check(runTimes.length === plan.length, `${who}: ${runTimes.length} of ${plan.length}`);
      runTimes.forEach((ran, i) => {
        const asked = Math.abs(plan[i]!);
        check(ran >= asked * 0.9, `${who}: task ${i} held ${asked} ms but ran ${ran} ms`);
      });
    };
    const measured = async (prefix: string, submit: (wave: number[]) => Promise<number[]>) => {
      const values: Record<string, number> = {};
      for (const gapMs of [0, WAVE_GAP_MS]) {
        const arrival = gapMs === 0 ? "once" : "waves";
        const run = await inWaves(plan, gapMs, submit);
        checkRunTimes(run.runTimes, `${prefix} ${arrival}`);
        values[`${prefix}.${arrival}.ms`] = run.makespanMs;
        values[`${prefix}.${arrival}.greedy.ms`] = greedyMakespan(
          run.arrivals,
          run.runTimes,
          POOL_SIZE,
        );
      }
      return values;
    };
    const onPool = (prefix: string) => (pool: Pool) =>
      measured(prefix, (wave) => {
        const half = wave.length / 2;
        const applies = wave.slice(0, half).map((ms) => pool.applyAsync(tasks!.hold, [ms]));
        const mapped = pool.map(tasks!.hold, wave.slice(half));
        return Promise.all([Promise.all(applies), mapped]).then(([a, m]) => [...a, ...m]);
      });
    const keys = (prefix: string) =>
      ["once", "waves"].flatMap((a) => [`${prefix}.${a}.ms`, `${prefix}.${a}.greedy.ms`]);
    const steps: Step[] = [
      floorStep(
        keys("floor"),
        () => RawWorkers.start(POOL_SIZE, "hold"),
        (raw) => {
          const greedy = new GreedyRaw(raw);
          return measured("floor", (wave) => Promise.all(wave.map((ms) => greedy.call(ms))));
        },
      ),
      poolStep(env, keys("pool"), {}, onPool("pool")),
      poolStep(
        env,
        keys("process"),
        { pool: { isolation: "process" }, optional: true },
        onPool("process"),
      ),
    ];
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

/**
 * Submits `plan` a wave every `gapMs` (0: all at once); returns when each task arrived (ms from
 * the first), what each reported it ran, and the time from the first submit to the last
 * result.
 */
async function inWaves(
  plan: readonly number[],
  gapMs: number,
  submit: (wave: number[]) => Promise<number[]>,
): Promise<{ arrivals: number[]; runTimes: number[]; makespanMs: number }> {
  const start = performance.now();
  const arrivals: number[] = [];
  const waves: Promise<number[]>[] = [];
  for (let first = 0; first < plan.length; first += WAVE) {
    const due = start + (first / WAVE) * gapMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const wave = plan.slice(first, first + WAVE);
    const now = performance.now() - start;
    for (let i = 0; i < wave.length; i++) arrivals.push(now);
    waves.push(submit(wave));
  }
  const runTimes = (await Promise.all(waves)).flat();
  return { arrivals, runTimes, makespanMs: performance.now() - start };
}

/**
 * The makespan of the greedy schedule: in submission order, each task goes to the first
 * free worker, starting no earlier than it arrived.
 */
export function greedyMakespan(
  arrivals: readonly number[],
  runTimes: readonly number[],
  workers: number,
): number {
  const freeAt = new Array<number>(workers).fill(0);
  runTimes.forEach((ran, i) => {
    let first = 0;
    for (let w = 1; w < workers; w++) if (freeAt[w]! < freeAt[first]!) first = w;
    freeAt[first] = Math.max(freeAt[first]!, arrivals[i]!) + ran;
  });
  return Math.max(...freeAt);
}

/** The floor's greedy dispatcher: tasks wait in one queue; a worker takes one as it replies. */
class GreedyRaw {
  readonly #queue: { ms: number; resolve: (ran: number) => void }[] = [];
  readonly #idle: number[];

  constructor(readonly raw: RawWorkers) {
    this.#idle = Array.from({ length: raw.size }, (_, w) => w);
  }

  call(ms: number): Promise<number> {
    return new Promise((resolve) => {
      this.#queue.push({ ms, resolve });
      this.#next();
    });
  }

  #next(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.shift()!;
      const task = this.#queue.shift()!;
      this.raw.callOn<number>(worker, task.ms).then((ran) => {
        this.#idle.push(worker);
        task.resolve(ran);
        this.#next();
      });
    }
  }
}
