import assert from "node:assert/strict";
import { Pool } from "../mod.ts";
import { serveMonitor } from "../monitor.ts";
import { eventsUrl, followMonitor } from "../tui/client.ts";
import type { DashboardAction } from "../tui/model.ts";
import { DashboardStore } from "../tui/store.ts";
import { clusterStats, eventually, FakePool } from "./_monitor_helpers.ts";

const double = (x: number) => x * 2;
const failing = () => {
  throw new SyntaxError("bad reading");
};

Deno.test("eventsUrl() points at /events whatever form of the monitor URL is given", () => {
  assert.equal(eventsUrl("http://127.0.0.1:80").href, "http://127.0.0.1/events");
  assert.equal(eventsUrl("http://127.0.0.1:8080/").href, "http://127.0.0.1:8080/events");
  assert.equal(eventsUrl("http://h:1/events?token=t").href, "http://h:1/events?token=t");
  assert.equal(eventsUrl("http://h:1/?token=t").href, "http://h:1/events?token=t");
});

Deno.test("followMonitor() feeds the dashboard from a real serveMonitor and reconnects after a drop", async () => {
  await using pool = new Pool({ size: 2, name: "remote" });
  let monitor = serveMonitor(pool, { snapshotIntervalMs: 100, batchMs: 20 });
  const port = Number(new URL(monitor.url).port);
  const store = new DashboardStore({ status: "connecting", source: monitor.url });
  const statuses: string[] = [];
  const dispatch = (action: DashboardAction) => {
    if (action.type === "connection") statuses.push(action.connection.status);
    store.dispatch(action);
  };
  const stop = new AbortController();
  const following = followMonitor(monitor.url, dispatch, {
    signal: stop.signal,
    minBackoffMs: 50,
    maxBackoffMs: 200,
  });
  try {
    await eventually(() => store.state.view.connection.status === "connected", "connected");
    await pool.map(double, [1, 2, 3, 4], { chunksize: 1 });
    await pool.apply(failing).catch(() => {});

    const view = await eventually(() => {
      const v = store.state.view;
      return v.pool?.completed === 4 && v.pool.failed === 1 && v.errors.length === 1 && v;
    }, "the tasks to show");
    assert.equal(view.pool!.name, "remote");
    assert.ok(view.workers.length >= 1);
    assert.equal(view.errors[0]!.message, "bad reading");
    assert.equal(view.errors[0]!.task, "failing");

    await monitor.close();
    await eventually(
      () => store.state.view.connection.status === "disconnected",
      "the drop to show",
    );
    // What was known stays on screen while retrying.
    assert.equal(store.state.view.pool?.name, "remote");
    assert.ok((store.state.view.connection.retryAt ?? 0) > 0);

    monitor = serveMonitor(pool, { port, snapshotIntervalMs: 100 });
    await eventually(
      () =>
        store.state.view.connection.status === "connected" &&
        statuses.lastIndexOf("connected") > statuses.indexOf("disconnected"),
      "the reconnection",
    );
  } finally {
    stop.abort();
    await following;
    await monitor.close();
  }
});

Deno.test("followMonitor() says why it cannot connect, connection refused at the URL, while it retries", async () => {
  // A port where nothing listens: taken, then given back.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}/`;
  const store = new DashboardStore({ status: "connecting", source: url });
  const drops: string[] = [];
  const stop = new AbortController();
  const following = followMonitor(url, (action) => {
    store.dispatch(action);
    if (action.type === "connection" && action.connection.status === "disconnected") {
      drops.push(action.connection.message ?? "");
    }
  }, { signal: stop.signal, minBackoffMs: 20, maxBackoffMs: 20 });
  try {
    // It keeps trying, and says why each time.
    await eventually(() => drops.length >= 2, "two attempts");
    for (const message of drops) {
      assert.equal(message, `connection refused at ${url} (is the monitor running?)`);
    }
  } finally {
    stop.abort();
    await following;
  }
});

Deno.test("followMonitor() sends the token and reports a refused one as a drop", async () => {
  await using pool = new Pool({ size: 1, name: "guarded" });
  await using monitor = serveMonitor(pool, { token: "letmein" });
  for (const [token, expected] of [["nope", "disconnected"], ["letmein", "connected"]] as const) {
    const store = new DashboardStore({ status: "connecting", source: monitor.url });
    const stop = new AbortController();
    const following = followMonitor(monitor.url, store.dispatch, {
      signal: stop.signal,
      token,
      minBackoffMs: 50,
    });
    try {
      await eventually(() => store.state.view.connection.status === expected, expected);
      if (expected === "disconnected") {
        assert.match(store.state.view.connection.message ?? "", /401/);
      } else {
        await eventually(() => store.state.view.pool?.name === "guarded", "the snapshot");
      }
    } finally {
      stop.abort();
      await following;
    }
  }
});

Deno.test("followMonitor() brings a cluster pool's hosts and its workers' hosts to the dashboard", async () => {
  const pool = new FakePool();
  pool.snapshot = clusterStats();
  await using monitor = serveMonitor(pool, { snapshotIntervalMs: 50 });
  const store = new DashboardStore({ status: "connecting", source: monitor.url });
  const stop = new AbortController();
  const following = followMonitor(monitor.url, store.dispatch, { signal: stop.signal });
  try {
    const view = await eventually(
      () => store.state.view.hosts?.length === 3 && store.state.view,
      "the hosts",
    );
    assert.deepEqual(view.hosts, pool.snapshot.hosts);
    assert.deepEqual(view.workers.map((w) => [w.name, w.host]), [
      ["alpha/1", "alpha"],
      ["alpha/2", "alpha"],
      ["beta/1", "beta"],
    ]);
    // A host leaves: the next snapshot says so.
    pool.snapshot = clusterStats({
      time: pool.snapshot.time + 1000,
      hosts: pool.snapshot.hosts!.map((h) => h.name === "beta" ? { ...h, state: "left" } : h),
      workers: pool.snapshot.workers.filter((w) => w.host !== "beta"),
    });
    const later = await eventually(
      () =>
        store.state.view.hosts?.find((h) => h.name === "beta")?.state === "left" &&
        store.state.view,
      "beta to leave",
    );
    assert.deepEqual(later.hosts!.map((h) => [h.name, h.state]), [
      ["alpha", "joined"],
      ["beta", "left"],
      ["gamma", "left"],
    ]);
    assert.deepEqual(later.workers.map((w) => w.name), ["alpha/1", "alpha/2"]);
  } finally {
    stop.abort();
    await following;
  }
});
