import assert from "node:assert/strict";
import { Pool, type PoolStats } from "../mod.ts";
import { type MonitorMessage, serveMonitor, watchPool } from "../monitor.ts";
import { clusterStats, eventually, FakePool, fakeStats, SseReader } from "./_monitor_helpers.ts";

const double = (x: number) => x * 2;

Deno.test("serveMonitor() serves pool.stats() as JSON at /stats", async () => {
  await using pool = new Pool({ size: 1, name: "stats-json" });
  await using monitor = serveMonitor(pool);
  await pool.map(double, [1, 2, 3], { chunksize: 1 });

  assert.match(monitor.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const response = await fetch(new URL("/stats", monitor.url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const stats: PoolStats = await response.json();
  assert.equal(stats.name, "stats-json");
  assert.equal(stats.size, 1);
  assert.equal(stats.completed, 3);
  assert.equal(stats.failed, 0);
  assert.ok(Array.isArray(stats.workers));
});

Deno.test("serveMonitor() answers 404 for an unknown path and 405 for a POST", async () => {
  await using pool = new Pool({ size: 1 });
  await using monitor = serveMonitor(pool);
  const missing = await fetch(new URL("/nope", monitor.url));
  await missing.body?.cancel();
  assert.equal(missing.status, 404);
  const post = await fetch(new URL("/stats", monitor.url), { method: "POST" });
  await post.body?.cancel();
  assert.equal(post.status, 405);
});

Deno.test("serveMonitor() streams a snapshot at once, then task events, on /events", async () => {
  await using pool = new Pool({ size: 2, name: "sse" });
  await using monitor = serveMonitor(pool, { snapshotIntervalMs: 200, batchMs: 20 });
  const response = await fetch(new URL("/events", monitor.url));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = new SseReader(response.body!);
  try {
    const first = await events.next();
    assert.equal(first?.event, "snapshot");
    assert.equal(JSON.parse(first!.data).name, "sse");

    const failing = () => {
      throw new RangeError("bad input");
    };
    await pool.map(double, [1, 2, 3, 4], { chunksize: 1 });
    await pool.apply(failing).catch(() => {});

    const seen: { type: string; detail: { ok?: boolean; error?: { message: string } } }[] = [];
    await events.until((event) => {
      if (event.event === "events") seen.push(...JSON.parse(event.data).events);
      return seen.filter((e) => e.type === "taskend").length >= 5;
    });
    const ends = seen.filter((e) => e.type === "taskend");
    assert.equal(ends.filter((e) => e.detail.ok).length, 4);
    assert.equal(ends.find((e) => !e.detail.ok)?.detail.error?.message, "bad input");
    for (const type of ["taskqueued", "taskstart", "workerspawn"]) {
      assert.ok(seen.some((e) => e.type === type), `no ${type} event in the stream`);
    }

    // Periodic snapshots keep coming and carry the totals.
    const later = await events.until((event) =>
      event.event === "snapshot" && JSON.parse(event.data).completed === 4
    );
    assert.equal(JSON.parse(later!.data).failed, 1);
  } finally {
    await events.cancel();
  }
});

Deno.test("serveMonitor() listens to the pool only while an /events client is connected", async () => {
  const pool = new FakePool();
  await using monitor = serveMonitor(pool, { snapshotIntervalMs: 50 });
  assert.equal(pool.listeners, 0);
  const stats = await fetch(new URL("/stats", monitor.url));
  await stats.body?.cancel();
  assert.equal(pool.listeners, 0);

  const first = new SseReader((await fetch(new URL("/events", monitor.url))).body!);
  const second = new SseReader((await fetch(new URL("/events", monitor.url))).body!);
  assert.equal((await first.next())?.event, "snapshot");
  assert.equal((await second.next())?.event, "snapshot");
  // One shared watch, however many clients.
  assert.equal(pool.listeners, 5);

  await first.cancel();
  // The remaining client keeps the watch (and its periodic snapshots) alive.
  assert.equal((await second.next())?.event, "snapshot");
  assert.equal((await second.next())?.event, "snapshot");
  assert.equal(pool.listeners, 5);
  await second.cancel();
  await eventually(() => pool.listeners === 0, "the listeners to come off");
});

Deno.test("serveMonitor() samples a burst: it stops listening once a batch is full, then resumes", async () => {
  const pool = new FakePool();
  await using monitor = serveMonitor(pool, { batchMs: 50 });
  const events = new SseReader((await fetch(new URL("/events", monitor.url))).body!);
  const end = (i: number, ok = true) =>
    pool.emit("taskend", {
      taskId: i,
      task: "burst",
      workerId: 1,
      ok,
      ...(!ok && { error: { name: "Error", message: `task ${i} failed` } }),
      waitMs: 0,
      runMs: 1,
      items: 1,
      time: Date.now(),
    });
  try {
    await events.next();
    assert.equal(pool.listeners, 5);
    for (let i = 0; i < 3000; i++) end(i);
    // Past the batch limit the taskend listener is off: the pool would build no more events.
    assert.equal(pool.listeners, 4);
    const burst = JSON.parse((await events.until((event) => event.event === "events"))!.data);
    assert.ok(burst.events.length < 3000, `a burst of 3000 events came as ${burst.events.length}`);
    assert.deepEqual(burst.truncated, ["taskend"]);

    // Once the batch is sent, it listens again.
    assert.equal(pool.listeners, 5);
    end(3000, false);
    const next = JSON.parse((await events.until((event) => event.event === "events"))!.data);
    assert.deepEqual(next.truncated, []);
    assert.equal(next.events[0].detail.error.message, "task 3000 failed");
  } finally {
    await events.cancel();
  }
});

Deno.test("serveMonitor() serves Prometheus text at /metrics, labelled by pool name", async () => {
  await using pool = new Pool({ size: 2, name: 'metrics "demo"' });
  await using monitor = serveMonitor(pool);
  const scrape = async () => {
    const response = await fetch(new URL("/metrics", monitor.url));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return await response.text();
  };
  await scrape(); // the first scrape starts the histograms
  await pool.map(double, [1, 2, 3, 4, 5], { chunksize: 1 });
  await pool.apply(() => {
    throw new Error("no");
  }).catch(() => {});
  await pool.apply(() => new Promise(() => {}), [], { timeout: 1 }).catch(() => {});
  const text = await scrape();

  const label = 'pool="metrics \\"demo\\""';
  assert.match(text, /# TYPE seed_pool_tasks_completed_total counter/);
  assert.ok(text.includes(`seed_pool_tasks_completed_total{${label}} 5\n`), text);
  assert.ok(text.includes(`seed_pool_tasks_failed_total{${label}} 1\n`), text);
  assert.ok(text.includes(`seed_pool_tasks_cancelled_total{${label}} 1\n`), text);
  assert.ok(text.includes(`seed_pool_queue_depth{${label}} 0\n`), text);
  for (
    const gauge of [
      "seed_pool_queue_depth",
      "seed_pool_workers_busy",
      "seed_pool_utilization",
      "seed_pool_throughput_tasks_per_second",
    ]
  ) {
    assert.ok(text.includes(`# TYPE ${gauge} gauge\n`), `${gauge} missing`);
  }

  // Every sample line is `name{labels} value`, and every name has HELP and TYPE.
  const lines = text.trimEnd().split("\n");
  const typed = new Set(
    lines.filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]),
  );
  for (const line of lines.filter((l) => !l.startsWith("#"))) {
    const match = line.match(/^([a-z_]+)\{(.*)\} (-?[0-9.e+-]+|NaN|\+Inf)$/);
    assert.ok(match, `not an exposition sample: ${line}`);
    const family = match[1]!.replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(match[1]!) || typed.has(family), `no TYPE for ${match[1]}`);
    assert.ok(match[2]!.startsWith(label), `not labelled by pool: ${line}`);
  }

  for (const name of ["seed_pool_task_wait_seconds", "seed_pool_task_run_seconds"]) {
    assert.ok(text.includes(`# TYPE ${name} histogram\n`));
    const buckets = lines
      .filter((l) => l.startsWith(`${name}_bucket{`))
      .map((l) => Number(l.split(" ").at(-1)));
    assert.ok(buckets.length > 2);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i]! >= buckets[i - 1]!, `${name} buckets are not cumulative`);
    }
    const count = lines.find((l) => l.startsWith(`${name}_count{`))!.split(" ").at(-1);
    assert.equal(buckets.at(-1), 6, `${name} +Inf bucket`);
    assert.equal(Number(count), 6, `${name}_count`);
  }
});

Deno.test("serveMonitor() carries a cluster pool's hosts and each worker's host in /stats and /events", async () => {
  const pool = new FakePool();
  pool.snapshot = clusterStats();
  await using monitor = serveMonitor(pool, { snapshotIntervalMs: 50 });

  const stats: PoolStats = await (await fetch(new URL("/stats", monitor.url))).json();
  assert.deepEqual(stats.hosts, pool.snapshot.hosts);
  assert.deepEqual(stats.workers.map((w) => w.host), ["alpha", "alpha", "beta"]);

  const events = new SseReader((await fetch(new URL("/events", monitor.url))).body!);
  try {
    const first = await events.next();
    assert.equal(first?.event, "snapshot");
    assert.deepEqual(JSON.parse(first!.data), pool.snapshot);
    // The periodic snapshots too, as the hosts change.
    const left = pool.snapshot.hosts!.map((h) => ({ ...h, state: "left" as const }));
    pool.snapshot = clusterStats({ hosts: left, workers: [] });
    const later = await events.until((event) =>
      event.event === "snapshot" && JSON.parse(event.data).workers.length === 0
    );
    assert.deepEqual(JSON.parse(later!.data).hosts.map((h: { state: string }) => h.state), [
      "left",
      "left",
      "left",
    ]);
  } finally {
    await events.cancel();
  }
});

Deno.test("serveMonitor() serves per-host series at /metrics for a cluster pool, labelled by host", async () => {
  const pool = new FakePool();
  pool.snapshot = clusterStats({ name: "jobs" });
  await using monitor = serveMonitor(pool);
  const text = await (await fetch(new URL("/metrics", monitor.url))).text();
  const sample = (name: string, labels: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
    assert.ok(line, `no ${name}{${labels}} in:\n${text}`);
    return Number(line.split(" ").at(-1));
  };
  const alpha = 'pool="jobs",host="alpha"';
  const gamma = 'pool="jobs",host="gamma"';
  assert.equal(sample("seed_pool_host_up", alpha), 1);
  assert.equal(sample("seed_pool_host_up", gamma), 0, "a host that left is down");
  assert.equal(sample("seed_pool_host_workers", alpha), 2);
  assert.equal(sample("seed_pool_host_workers", gamma), 4);
  assert.equal(sample("seed_pool_host_busy", alpha), 1);
  assert.equal(sample("seed_pool_host_tasks_completed_total", alpha), 1200);
  assert.equal(sample("seed_pool_host_tasks_completed_total", gamma), 870);
  assert.equal(sample("seed_pool_host_tasks_failed_total", alpha), 3);
  assert.equal(sample("seed_pool_host_throughput_tasks_per_second", alpha), 41.5);
  for (
    const [name, type] of [
      ["seed_pool_host_up", "gauge"],
      ["seed_pool_host_workers", "gauge"],
      ["seed_pool_host_busy", "gauge"],
      ["seed_pool_host_tasks_completed_total", "counter"],
      ["seed_pool_host_tasks_failed_total", "counter"],
      ["seed_pool_host_throughput_tasks_per_second", "gauge"],
    ]
  ) {
    assert.ok(text.includes(`# HELP ${name} `), `${name} has no HELP`);
    assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} is not a ${type}`);
  }
  // Each worker's series names its host.
  assert.equal(
    sample("seed_pool_worker_utilization", 'pool="jobs",host="beta",worker="1024"'),
    0.25,
  );
  // A host's name is a label value like any other: escaped.
  pool.snapshot = clusterStats({
    hosts: [{ ...clusterStats().hosts![0]!, name: 'rack "7"\\a' }],
  });
  const escaped = await (await fetch(new URL("/metrics", monitor.url))).text();
  assert.ok(escaped.includes('seed_pool_host_up{pool="jobs",host="rack \\"7\\"\\\\a"} 1\n'));
});

Deno.test("serveMonitor() serves no host series and no host label for a local pool", async () => {
  await using pool = new Pool({ size: 1, name: "local" });
  await using monitor = serveMonitor(pool);
  await pool.apply(double, [1]);
  const text = await (await fetch(new URL("/metrics", monitor.url))).text();
  assert.match(text, /seed_pool_worker_utilization\{pool="local",worker="\d+"\} /);
  assert.ok(!text.includes("seed_pool_host_"), text);
  assert.ok(!text.includes("host="), text);
});

Deno.test("serveMonitor() with a token answers 401 to requests without it", async () => {
  const pool = new FakePool();
  await using monitor = serveMonitor(pool, { token: "s3cret" });
  const url = new URL("/stats", monitor.url);

  const none = await fetch(url);
  await none.body?.cancel();
  assert.equal(none.status, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);

  const wrong = await fetch(url, { headers: { authorization: "Bearer s3cre" } });
  await wrong.body?.cancel();
  assert.equal(wrong.status, 401);

  const bearer = await fetch(url, { headers: { authorization: "Bearer s3cret" } });
  assert.equal(bearer.status, 200);
  assert.equal((await bearer.json()).name, "fake");

  const query = await fetch(new URL("/metrics?token=s3cret", monitor.url));
  assert.equal(query.status, 200);
  await query.body?.cancel();

  const events = await fetch(new URL("/events", monitor.url));
  await events.body?.cancel();
  assert.equal(events.status, 401);
});

Deno.test("serveMonitor() refuses a non-loopback hostname without a token", () => {
  const pool = new FakePool();
  assert.throws(() => serveMonitor(pool, { hostname: "0.0.0.0" }), TypeError);
  assert.throws(() => serveMonitor(pool, { hostname: "0.0.0.0", token: "" }), TypeError);
  assert.equal(pool.listeners, 0);
});

Deno.test("serveMonitor() binds a non-loopback hostname when given a token", async () => {
  const pool = new FakePool();
  await using monitor = serveMonitor(pool, { hostname: "0.0.0.0", token: "t" });
  const port = new URL(monitor.url).port;
  const response = await fetch(`http://127.0.0.1:${port}/stats`, {
    headers: { authorization: "Bearer t" },
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("serveMonitor().close() ends open /events streams and stops listening", async () => {
  const pool = new FakePool();
  pool.snapshot = fakeStats({ name: "closing" });
  const monitor = serveMonitor(pool, { snapshotIntervalMs: 50 });
  const events = new SseReader((await fetch(new URL("/events", monitor.url))).body!);
  assert.equal((await events.next())?.event, "snapshot");
  await monitor.close();
  // The stream ends (after whatever was already sent) rather than erroring or hanging.
  assert.equal(await events.until(() => false), null);
  assert.equal(pool.listeners, 0);
  await monitor.close(); // idempotent
  await assert.rejects(fetch(new URL("/stats", monitor.url)));
});

Deno.test("watchPool() sends a snapshot at once, the gathered events on stop(), and detaches", async () => {
  await using pool = new Pool({ size: 1, name: "watched" });
  const messages: MonitorMessage[] = [];
  const watch = watchPool(pool, (message) => messages.push(message), { batchMs: 60_000 });
  assert.equal(messages[0]?.type, "snapshot");
  await pool.map(double, [1, 2, 3], { chunksize: 1 });
  watch.stop();
  const last = messages.at(-1)!;
  assert.equal(last.type, "events");
  if (last.type === "events") {
    assert.equal(last.events.filter((e) => e.type === "taskend").length, 3);
  }
  const count = messages.length;
  await pool.apply(double, [4]);
  watch.stop();
  assert.equal(messages.length, count, "a stopped watch still reported");
});

Deno.test("watchPool() stopped while sampling leaves the pool's listener count balanced", () => {
  const pool = new FakePool();
  const watch = watchPool(pool, () => {}, { maxBatch: 2 });
  for (let i = 0; i < 3; i++) {
    pool.emit("taskstart", { taskId: i, task: "t", workerId: 1, waitMs: 0, time: 0 });
  }
  assert.equal(pool.listeners, 4);
  watch.stop();
  assert.equal(pool.listeners, 0);
});

Deno.test("watchPool() rejects a non-positive interval with a RangeError naming it", () => {
  assert.throws(
    () => watchPool(new FakePool(), () => {}, { snapshotIntervalMs: 0 }),
    (error: Error) => error instanceof RangeError && /snapshotIntervalMs/.test(error.message),
  );
});
