/**
 * Watching a cluster pool: `stats()` served by `serveMonitor`, the Prometheus text with its
 * host series, and the real dashboard (`deno task tui --connect`, in tmux) showing the
 * hosts live: both joined and busy while a map runs, then one of them gone.
 */

import assert from "node:assert/strict";
import { Pool, type PoolStats } from "../mod.ts";
import { serveMonitor } from "../monitor.ts";
import { connectCluster, serveWorkerHost } from "../cluster.ts";
import { natsTest, startNats } from "./_nats.ts";
import { eventually } from "./_monitor_helpers.ts";
import { Terminal, TMUX } from "./_tmux.ts";

natsTest("a cluster pool's hosts in serveMonitor, /metrics and the live dashboard", async () => {
  await using server = await startNats();
  const options = { servers: server.url, name: "watched", size: 1, allowInline: true };
  const a = await serveWorkerHost({ ...options, hostName: "alpha", permissions: "inherit" });
  const b = await serveWorkerHost({ ...options, hostName: "beta", permissions: "inherit" });
  await using cluster = await connectCluster({ servers: server.url, name: "watched" });
  await using pool = new Pool({ cluster, name: "farm" });
  await using monitor = serveMonitor(pool, { port: 0 });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms));
  const work = pool.map(sleep, Array.from({ length: 40 }, () => 150), { chunksize: 1 });

  const stats = await eventually(async () => {
    const s = await (await fetch(`${monitor.url}stats`)).json() as PoolStats;
    return s.hosts?.length === 2 && s.workers.some((w) => w.state === "busy") && s;
  }, "both hosts in /stats, one busy");
  assert.deepEqual(stats.hosts!.map((h) => h.name).sort(), ["alpha", "beta"]);
  assert.ok(stats.workers.every((w) => w.host === "alpha" || w.host === "beta"));
  const metrics = await (await fetch(`${monitor.url}metrics`)).text();
  assert.match(metrics, /seed_pool_host_up\{pool="farm",host="alpha"\} 1/);
  assert.match(metrics, /seed_pool_host_workers\{pool="farm",host="beta"\} 1/);

  if (TMUX) {
    await using terminal = new Terminal();
    await terminal.start(`deno task tui --connect ${monitor.url}`);
    await eventually(async () => {
      const text = await terminal.capture();
      return /hosts +2 joined/.test(text) && /alpha +joined/.test(text) &&
        /beta +joined/.test(text) && text;
    }, "the dashboard to show both hosts joined");
    await b.close();
    await eventually(async () => {
      const text = await terminal.capture();
      return /1 joined · 1 left/.test(text) && /beta +left/.test(text) && text;
    }, "the dashboard to show beta gone");
  } else {
    console.log("tmux is missing (apt-get install -y tmux): the dashboard part was skipped");
    await b.close();
  }
  assert.equal((await work).length, 40);
  await a.close();
});
