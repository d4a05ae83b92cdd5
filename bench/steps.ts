/**
 * The building blocks of the in-process workloads: a pool step (a pool of its own, made in
 * setup, warmed, closed in teardown) and a floor step (raw workers of its own).
 *
 * @module
 */

import type { Pool, PoolOptions, TaskModule } from "../mod.ts";
import type { RawWorkers } from "./floors.ts";
import { check, closePool, type Env, type Step } from "./harness.ts";

/** The pool size of every workload (the machine has 2 cores). */
export const POOL_SIZE = 2;

/** The benchmark task bodies, as every pool row and the profile reach them. */
export const TASKS_URL = new URL("./tasks.ts", import.meta.url);

/** The pool's task references to bench/tasks.ts. */
export type Tasks = TaskModule<typeof import("./tasks.ts")>;

/** The pool's task references to bench/tasks.ts, or undefined without the pool. */
export function taskRefs(env: Env): Tasks | undefined {
  return env.seed?.taskModule<typeof import("./tasks.ts")>(TASKS_URL);
}

/**
 * A pool of `POOL_SIZE` workers (or as asked) that has run one task on each worker, so that
 * start-up is never timed. Throws when the pool does not report the isolation asked, so a
 * missing feature is never measured as something else.
 */
export async function openPool(env: Env, options: PoolOptions = {}): Promise<Pool> {
  const pool = new env.seed!.Pool({ size: POOL_SIZE, ...options });
  try {
    const isolation = options.isolation ?? "worker";
    const reported = pool.stats().isolation;
    if (reported !== isolation) {
      throw new Error(`isolation "${isolation}" is not implemented (stats() says "${reported}")`);
    }
    const size = options.size ?? POOL_SIZE;
    const warm = Array.from({ length: size }, (_, i) => i);
    await pool.map(taskRefs(env)!.identity, warm, { chunksize: 1 });
  } catch (error) {
    await pool.terminate();
    throw error;
  }
  return pool;
}

/** What a pool step is made of. */
export interface PoolStepOptions {
  readonly pool?: PoolOptions;
  readonly optional?: boolean;
  /** Runs after the pool is open (to attach a monitor, say); may throw to skip the step. */
  readonly prepare?: (pool: Pool) => Promise<void>;
  /** Runs before the pool closes. */
  readonly cleanup?: () => Promise<void>;
}

/** A step on a pool of its own. */
export function poolStep(
  env: Env,
  keys: string[],
  options: PoolStepOptions,
  run: (pool: Pool) => Promise<Record<string, number>>,
): Step {
  let pool: Pool | undefined;
  return {
    keys,
    needsPool: true,
    optional: options.optional ?? false,
    setup: async () => {
      pool = await openPool(env, options.pool);
      await options.prepare?.(pool);
    },
    run: () => run(pool!),
    teardown: async () => {
      await options.cleanup?.();
      await closePool(pool);
    },
  };
}

/** A step on raw workers of its own. */
export function floorStep(
  keys: string[],
  start: () => Promise<RawWorkers>,
  run: (raw: RawWorkers) => Promise<Record<string, number>>,
): Step {
  let raw: RawWorkers | undefined;
  return {
    keys,
    setup: async () => void (raw = await start()),
    run: () => run(raw!),
    teardown: () => raw?.close(),
  };
}

/** Checks that `values` is `0, 1, …, n - 1`. */
export function checkIdentity(values: readonly unknown[], n: number, who: string): void {
  check(values.length === n, `${who}: ${values.length} results for ${n} tasks`);
  for (let i = 0; i < n; i++) {
    check(values[i] === i, `${who}: result ${i} is ${String(values[i])}`);
  }
}
