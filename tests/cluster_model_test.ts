/**
 * The model-based guard of the local pool (tests/model_test.ts), thrown at a cluster pool:
 * random scripts of every call method, items that throw, sleep, spin, crash their worker or
 * cannot be cloned, timeouts, aborts, close and terminate, on hosts of a real nats-server.
 * Every call must settle once with an outcome the model allows, the counters and events
 * must add up, and nothing may wait while a host's worker is idle.
 */

import fc from "fast-check";
import { Pool } from "../mod.ts";
import { type Cluster, connectCluster, serveWorkerHost, type WorkerHost } from "../cluster.ts";
import { natsTest, startNats } from "./_nats.ts";
import { poolOptions, runScript } from "./_model_driver.ts";
import { scripts } from "./_model.ts";
import { fuzzOptions } from "./fuzz.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).href;
const RUNS = 40;
const LIMITS = {
  stallMs: 8_000,
  hardMs: 40_000,
  // A cluster's worker rows are its hosts' slots, which run every permission set: each task
  // runs in a lane of its own set on the host's local pool, where tests/model_test.ts and
  // the lanes test of tests/cluster_test.ts hold it.
  ignore: ["a task runs only on a worker of its permission set"],
  // A host starts a client's first worker when its first task arrives, and says a task
  // started once it has: a second, not the local pool's moment, still finds a host that
  // does not pull or a client that does not publish.
  idleBreachMs: 1_000,
};

natsTest("cluster pool keeps the model's invariants under random scripts", async () => {
  await using server = await startNats();
  // One cluster per pool size, served by one host of that many workers.
  const hosts: WorkerHost[] = [];
  const clusters = new Map<number, Cluster>();
  try {
    for (const size of [1, 2, 3]) {
      const name = `model${size}`;
      hosts.push(
        await serveWorkerHost({
          servers: server.url,
          name,
          size,
          hostName: `host${size}`,
          modules: [FIXTURES],
          allowInline: true,
          permissions: "inherit",
          ackWaitMs: 5_000,
        }),
      );
      clusters.set(size, await connectCluster({ servers: server.url, name }));
    }
    const makePool = (spec: { size: number }) => {
      const pool = new Pool({
        cluster: clusters.get(spec.size)!,
        ...poolOptions(spec as never, "worker"),
      });
      return pool;
    };
    // The host joined before the pool was made: wait for its first heartbeat in each run.
    await fc.assert(
      fc.asyncProperty(scripts(), async (script) => {
        await runScript(script, "worker", LIMITS, (spec) => {
          const pool = makePool(spec);
          return pool;
        });
      }),
      fuzzOptions(RUNS),
    );
  } finally {
    for (const cluster of clusters.values()) await cluster.close();
    for (const host of hosts) await host.close();
  }
});
