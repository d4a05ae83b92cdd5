/**
 * W1 — the cost of a task itself: 20,000 `identity(i)` submitted at once with `applyAsync`,
 * then all awaited; and a lone `apply` round trip, one in flight at a time.
 *
 * @module
 */

import type { Pool } from "../../mod.ts";
import { RawWorkers } from "../floors.ts";
import { time, type Workload } from "../harness.ts";
import {
  type MonitorHandle,
  readEvents,
  serveMonitorOf,
  type SseReader,
} from "../monitor_client.ts";
import { checkIdentity, floorStep, POOL_SIZE, poolStep, taskRefs, type Tasks } from "../steps.ts";

/** W1 — per-task overhead, pipelined and one in flight. */
export const w1: Workload = {
  id: "W1",
  title: "20,000 identity(i) submitted at once (applyAsync), then all awaited",
  rows: [
    { key: "floor", label: "raw floor: 2 workers, pipelined, Map<id, resolve>", unit: "µs/task" },
    { key: "pool", label: "pool applyAsync(tasks.identity)", unit: "µs/task", ratioTo: "floor" },
    {
      key: "pool.inline",
      label: "pool applyAsync(inline identity)",
      unit: "µs/task",
      ratioTo: "floor",
    },
    {
      key: "pool.monitored",
      label: "pool + serveMonitor + SSE client on /events",
      unit: "µs/task",
      ratioTo: "pool",
      note: "ratio is vs the unwatched pool row",
    },
    {
      key: "pool.process",
      label: 'pool, isolation: "process"',
      unit: "µs/task",
      ratioTo: "floor",
      note: "Python multiprocessing.Pool: 70 µs/task",
    },
    { key: "floor.lone", label: "raw floor: one message in flight", unit: "µs/task" },
    {
      key: "pool.lone",
      label: "pool apply(tasks.identity), one in flight",
      unit: "µs/task",
      ratioTo: "floor.lone",
    },
  ],
  open(env) {
    const n = env.quick ? 2_000 : 20_000;
    const lone = env.quick ? 200 : 2_000;
    const tasks = taskRefs(env);
    const inlineIdentity = (x: unknown) => x;

    const pipelined = async (pool: Pool, fn: Tasks["identity"] | typeof inlineIdentity) => {
      const { ms, value } = await time(() => {
        const results = [];
        for (let i = 0; i < n; i++) results.push(pool.applyAsync(fn, [i]));
        return Promise.all(results);
      });
      checkIdentity(value, n, "pool");
      return (ms * 1000) / n;
    };

    let monitor: MonitorHandle | undefined;
    let sse: SseReader | undefined;
    const monitored = poolStep(env, ["pool.monitored"], {
      optional: true,
      prepare: async (pool) => {
        monitor = await serveMonitorOf(pool);
        sse = await readEvents(monitor.url);
      },
      cleanup: async () => {
        await sse?.cancel();
        await monitor?.close();
      },
    }, async (pool) => {
      const before = sse!.bytes;
      const perTask = await pipelined(pool, tasks!.identity);
      // Snapshots and task events may still be in flight: give them a moment.
      for (let wait = 0; wait < 20 && sse!.bytes === before; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (sse!.bytes === before) throw new Error("the SSE client received nothing");
      return { "pool.monitored": perTask };
    });

    return Promise.resolve({
      steps: [
        floorStep(["floor"], () => RawWorkers.start(POOL_SIZE, "identity"), async (raw) => {
          const { ms, value } = await time(() => {
            const replies = [];
            for (let i = 0; i < n; i++) replies.push(raw.call(i));
            return Promise.all(replies);
          });
          checkIdentity(value, n, "floor");
          return { floor: (ms * 1000) / n };
        }),
        poolStep(env, ["pool"], {}, async (pool) => ({
          pool: await pipelined(pool, tasks!.identity),
        })),
        poolStep(env, ["pool.inline"], {}, async (pool) => ({
          "pool.inline": await pipelined(pool, inlineIdentity),
        })),
        monitored,
        poolStep(
          env,
          ["pool.process"],
          { pool: { isolation: "process" }, optional: true },
          async (pool) => ({ "pool.process": await pipelined(pool, tasks!.identity) }),
        ),
        floorStep(["floor.lone"], () => RawWorkers.start(POOL_SIZE, "identity"), async (raw) => {
          const values: unknown[] = [];
          const { ms } = await time(async () => {
            for (let i = 0; i < lone; i++) values.push(await raw.call(i));
          });
          checkIdentity(values, lone, "floor");
          return { "floor.lone": (ms * 1000) / lone };
        }),
        poolStep(env, ["pool.lone"], {}, async (pool) => {
          const values: unknown[] = [];
          const { ms } = await time(async () => {
            for (let i = 0; i < lone; i++) values.push(await pool.apply(tasks!.identity, [i]));
          });
          checkIdentity(values, lone, "pool");
          return { "pool.lone": (ms * 1000) / lone };
        }),
      ],
    });
  },
};
