/**
 * W8 — the cluster: two hosts of one worker each (`pool worker -j 1`, subprocesses as users
 * start them) on a loopback `nats-server -js`, beside a raw JetStream floor and local pools
 * in the same run: tiny applies against the floor, `map(square, 1M)` and the W3 speedup
 * against a local pool of 2, and a map in which one host is SIGKILLed against the same map
 * on healthy hosts.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import type { NatsServer } from "../../tests/_nats.ts";
import { NATS_SERVER_PATH, startNats } from "../../tests/_nats.ts";
import { ClusterRig } from "../cluster_rig.ts";
import { check, type Env, type Step, time, type Workload } from "../harness.ts";
import { checkIdentity, poolStep, taskRefs, type Tasks } from "../steps.ts";

/** The bench folder: the hosts may import bench/tasks.ts, and nothing else. */
const BENCH_MODULES = new URL("../", import.meta.url).href;
/** Short, so that a killed host's task goes to the other host soon. */
const ACK_WAIT_MS = 2_000;
/** As the fault tests start hosts: the `--allow-all` ceiling lets any task's permission set run. */
const HOST_ARGS = [
  ["-j", "1", "--modules", BENCH_MODULES],
  ["--ack-wait", `${ACK_WAIT_MS}`, "--allow-all"],
].flat();
/** The share of the map done when host a is killed. */
const KILL_AT = 0.25;
const HOLD_MS = 20;

/** Every key measured on the cluster, all skipped when the rig cannot start. */
const CLUSTER_KEYS = ["tiny", "map", "mc.ms", "speedup", "healthy.ms", "killed.ms"];
const LOCAL_KEYS = ["local.map", "serial.ms", "local.mc.ms", "local.speedup"];

/** W8 — the cluster pool beside the raw JetStream floor and the local pool. */
export const w8: Workload = {
  id: "W8",
  title: "the cluster: 2 hosts × 1 worker (pool worker -j 1) on a loopback nats-server -js, " +
    "beside a raw JetStream floor and local pools",
  rows: [
    {
      key: "floor",
      label: "raw floor: JetStream work queue + 1 echo consumer, 20,000 tiny tasks",
      unit: "µs/task",
    },
    {
      key: "tiny",
      label: "cluster applyAsync(tasks.identity) × 20,000 at once",
      unit: "µs/task",
      ratioTo: "floor",
      note: "target ≤ 0.50×",
    },
    {
      key: "local.map",
      label: "local pool of 2: map(tasks.square, 1M), default chunksize",
      unit: "items/s",
    },
    {
      key: "map",
      label: "cluster map(tasks.square, 1M), default chunksize",
      unit: "items/s",
      ratioTo: "local.map",
      note: "target ≤ 2.00× (≥ 0.5 × the local items/s)",
    },
    { key: "serial.ms", label: "one local worker: 8 × monteCarlo(2M) one by one", unit: "ms" },
    {
      key: "local.mc.ms",
      label: "local pool of 2: map(tasks.monteCarlo), chunksize 1",
      unit: "ms",
    },
    {
      key: "mc.ms",
      label: "cluster map(tasks.monteCarlo), chunksize 1",
      unit: "ms",
      ratioTo: "local.mc.ms",
    },
    { key: "local.speedup", label: "local pool of 2 speedup (one worker ÷ pool)", unit: "×" },
    {
      key: "speedup",
      label: "cluster speedup (one worker ÷ cluster)",
      unit: "×",
      ratioTo: "local.speedup",
      note: "target ≤ 1.11× (≥ 0.9 × the local speedup)",
    },
    {
      key: "healthy.ms",
      label: `cluster starmap(tasks.echoAfter, 200 × ${HOLD_MS} ms), chunksize 1, healthy`,
      unit: "ms",
    },
    {
      key: "killed.ms",
      label: `the same, host a SIGKILLed at ${KILL_AT * 100}% done (--ack-wait ${ACK_WAIT_MS})`,
      unit: "ms",
      ratioTo: "healthy.ms",
      note: "every result checked",
    },
  ],
  open(env) {
    if (NATS_SERVER_PATH === null) {
      // Every row n/a, with the reason, rather than a crash or local rows with nothing beside.
      return Promise.resolve({
        steps: [{
          keys: ["floor", ...CLUSTER_KEYS, ...LOCAL_KEYS],
          optional: true,
          setup: () => {
            throw new Error("nats-server is not installed (apt-get install -y nats-server)");
          },
          run: () => Promise.resolve({}),
        }],
      });
    }
    return Promise.resolve(openCluster(env));
  },
};

function openCluster(env: Env) {
  const n = env.quick ? 2_000 : 20_000;
  const mapInput = Array.from({ length: env.quick ? 100_000 : 1_000_000 }, (_, i) => i);
  const points = env.quick ? 200_000 : 2_000_000;
  const mcInput = new Array<number>(8).fill(points);
  const holds = Array.from(
    { length: env.quick ? 40 : 200 },
    (_, i) => [i, HOLD_MS] as [number, number],
  );
  const tasks = taskRefs(env);

  let server: NatsServer | undefined;
  let rig: ClusterRig | undefined;
  /** The rig, with every host live and seen (a killed one is replaced first, untimed). */
  const ready = async () => {
    if (!rig) throw new Error("the cluster rig did not start");
    await rig.ready();
    return rig.pool;
  };

  const checkSquares = (values: readonly number[], who: string) => {
    check(values.length === mapInput.length, `${who}: ${values.length} results`);
    for (let i = 0; i < values.length; i++) {
      check(values[i] === i * i, `${who}: result ${i} is ${values[i]}`);
    }
  };
  const checkCounts = (counts: readonly number[], who: string) => {
    check(counts.length === 8, `${who}: ${counts.length} results for 8 tasks`);
    for (const count of counts) {
      const pi = (4 * count) / points;
      check(Math.abs(pi - Math.PI) < 0.05, `${who}: monteCarlo estimated π as ${pi}`);
    }
  };
  const monteCarlo = async (pool: Pool, who: string) => {
    const { ms, value } = await time(() => pool.map(tasks!.monteCarlo, mcInput, { chunksize: 1 }));
    checkCounts(value, who);
    return ms;
  };
  const echoMap = async (pool: Pool, onProgress?: (done: number) => Promise<void>) => {
    const base = pool.stats().completed;
    const failedBefore = pool.stats().failed;
    const { ms, value } = await time(async () => {
      const result = pool.starmap(tasks!.echoAfter, holds, { chunksize: 1 });
      result.catch(() => {}); // awaited below; handled should onProgress throw first
      await onProgress?.(base);
      return await result;
    });
    checkIdentity(value, holds.length, "cluster starmap(echoAfter)");
    check(pool.stats().failed === failedBefore, "cluster starmap(echoAfter): a task failed");
    return ms;
  };

  const steps: Step[] = [
    {
      // The rig: every cluster row (and the floor, which needs the server) depends on it.
      keys: ["floor", ...CLUSTER_KEYS],
      optional: true,
      setup: async () => {
        server = await startNats();
        if (!env.seed) return; // the floor still runs; the cluster rows say why they do not
        rig = await ClusterRig.start(server, env.seed, {
          cluster: "w8",
          slots: ["a", "b"],
          hostArgs: HOST_ARGS,
        });
        // Each path once: the first call of a function travels alone until its run time is known.
        const pool = rig.pool;
        checkIdentity(
          await Promise.all(
            Array.from({ length: 100 }, (_, i) => pool.applyAsync(tasks!.identity, [i])),
          ),
          100,
          "cluster warm-up",
        );
        await pool.map(tasks!.square, mapInput.slice(0, 10_000));
        await pool.map(tasks!.monteCarlo, [1_000, 1_000], { chunksize: 1 });
        await pool.starmap(tasks!.echoAfter, [[0, 1], [1, 1]], { chunksize: 1 });
      },
      run: () => Promise.resolve({}),
      teardown: async () => {
        try {
          await rig?.close();
        } finally {
          await server?.stop();
        }
      },
    },
    {
      keys: ["floor"],
      optional: true,
      run: async () => {
        const { measureJetStreamFloor } = await import("../jetstream_floor.ts");
        const floor = await measureJetStreamFloor({ servers: server!.url, tasks: n });
        return { floor: floor.usPerTask };
      },
    },
    {
      keys: ["tiny"],
      needsPool: true,
      optional: true,
      run: async () => {
        const pool = await ready();
        const { ms, value } = await time(() => {
          const results = [];
          for (let i = 0; i < n; i++) results.push(pool.applyAsync(tasks!.identity, [i]));
          return Promise.all(results);
        });
        checkIdentity(value, n, "cluster applyAsync(identity)");
        return { tiny: (ms * 1000) / n };
      },
    },
    poolStep(env, ["local.map"], { prepare: warmLocal(tasks) }, async (pool) => {
      const { ms, value } = await time(() => pool.map(tasks!.square, mapInput));
      checkSquares(value, "local map(square)");
      return { "local.map": (mapInput.length * 1000) / ms };
    }),
    {
      keys: ["map"],
      needsPool: true,
      optional: true,
      run: async () => {
        const pool = await ready();
        const { ms, value } = await time(() => pool.map(tasks!.square, mapInput));
        checkSquares(value, "cluster map(square)");
        return { map: (mapInput.length * 1000) / ms };
      },
    },
    poolStep(
      env,
      ["serial.ms"],
      { pool: { size: 1 }, prepare: warmLocal(tasks) },
      async (pool) => ({
        "serial.ms": await monteCarlo(pool, "one local worker"),
      }),
    ),
    poolStep(
      env,
      ["local.mc.ms", "local.speedup"],
      { prepare: warmLocal(tasks) },
      async (pool) => ({
        "local.mc.ms": await monteCarlo(pool, "local pool"),
      }),
    ),
    {
      keys: ["mc.ms", "speedup"],
      needsPool: true,
      optional: true,
      run: async () => ({ "mc.ms": await monteCarlo(await ready(), "cluster") }),
    },
    {
      keys: ["healthy.ms"],
      needsPool: true,
      optional: true,
      run: async () => ({ "healthy.ms": await echoMap(await ready()) }),
    },
    {
      keys: ["killed.ms"],
      needsPool: true,
      optional: true,
      run: async () => {
        const pool = await ready();
        const killAt = Math.round(holds.length * KILL_AT);
        const ms = await echoMap(pool, async (base) => {
          while (pool.stats().completed - base < killAt) {
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          const done = pool.stats().completed - base;
          // Killed too late, the row would time a healthy map: say so rather than report it.
          if (done >= holds.length / 2) {
            throw new Error(`host a was killed only after ${done} of ${holds.length} tasks`);
          }
          await rig!.kill("a");
        });
        return { "killed.ms": ms };
      },
    },
  ];
  return {
    steps,
    derive(values: Record<string, number>) {
      const serial = values["serial.ms"];
      const speedups: Record<string, number> = {};
      if (serial === undefined) return speedups;
      const local = values["local.mc.ms"];
      const cluster = values["mc.ms"];
      if (local !== undefined) speedups["local.speedup"] = serial / local;
      if (cluster !== undefined) speedups.speedup = serial / cluster;
      return speedups;
    },
  };
}

/** Warms the local pool's paths as the cluster's are (each function's first call goes alone). */
function warmLocal(tasks: Tasks | undefined) {
  return async (pool: Pool) => {
    await pool.map(tasks!.square, Array.from({ length: 10_000 }, (_, i) => i));
    await pool.map(tasks!.monteCarlo, [1_000, 1_000], { chunksize: 1 });
  };
}
