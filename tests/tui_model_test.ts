import assert from "node:assert/strict";
import type { PoolStats } from "../mod.ts";
import type { PoolEventRecord } from "../monitor.ts";
import {
  type DashboardAction,
  type DashboardState,
  initialState,
  MAX_ERRORS,
  reduce,
  THROUGHPUT_SAMPLES,
  TICK_MS,
} from "../tui/model.ts";
import { clusterStats, fakeStats, fakeWorker } from "./_monitor_helpers.ts";

const T0 = 1_700_000_000_000;

const worker = fakeWorker;

function snapshot(overrides: Partial<PoolStats>): DashboardAction {
  return { type: "snapshot", stats: fakeStats({ time: T0, ...overrides }) };
}

function events(...records: PoolEventRecord[]): DashboardAction {
  return { type: "events", events: records, truncated: [] };
}

function run(...actions: DashboardAction[]): DashboardState {
  return actions.reduce(reduce, initialState({ status: "local", source: "demo" }));
}

function taskEnd(
  workerId: number,
  time: number,
  runMs: number,
  error?: { name: string; message: string; cause?: string },
): PoolEventRecord {
  return {
    type: "taskend",
    detail: {
      taskId: time,
      task: "work",
      workerId,
      ok: error === undefined,
      ...(error && { error }),
      waitMs: 1,
      runMs,
      items: 1,
      time,
    },
  };
}

Deno.test("initialState() has no pool, no workers and the given connection", () => {
  const state = initialState({ status: "connecting", source: "http://127.0.0.1:1/" });
  assert.equal(state.view.pool, null);
  assert.deepEqual(state.view.workers, []);
  assert.deepEqual(state.view.errors, []);
  assert.equal(state.view.connection.status, "connecting");
});

Deno.test("reduce() fills the header and worker rows from a snapshot", () => {
  const state = run(snapshot({
    name: "demo",
    size: 2,
    completed: 10,
    failed: 1,
    queued: 3,
    running: 2,
    throughput: 4.5,
    uptimeMs: 9000,
    latency: { waitMs: { p50: 1, p95: 2, p99: 3 }, runMs: { p50: 4, p95: 5, p99: 6 } },
    workers: [
      worker({ id: 1, state: "busy", currentTask: "monteCarloPi", tasksCompleted: 6 }),
      worker({ id: 2, permissions: "none", tasksCompleted: 4, tasksFailed: 1 }),
    ],
  }));
  const pool = state.view.pool!;
  assert.equal(pool.name, "demo");
  assert.equal(pool.completed, 10);
  assert.equal(pool.queued, 3);
  assert.equal(pool.throughput, 4.5);
  assert.deepEqual(pool.latency.runMs, { p50: 4, p95: 5, p99: 6 });
  assert.deepEqual(state.view.workers.map((w) => [w.id, w.state, w.currentTask]), [
    [1, "busy", "monteCarloPi"],
    [2, "idle", null],
  ]);
  assert.equal(state.view.workers[1]!.permissions, "none");
});

Deno.test("reduce() counts items of a chunk's taskend, and stopped tasks as cancelled", () => {
  const chunk = (ok: boolean, items: number, cancelled = false): PoolEventRecord => ({
    type: "taskend",
    detail: {
      taskId: items,
      task: "work",
      workerId: 1,
      ok,
      ...(!ok && { error: { name: cancelled ? "TimeoutError" : "TaskError", message: "" } }),
      ...(cancelled && { cancelled: true }),
      waitMs: 1,
      runMs: 1,
      items,
      time: T0 + 5,
    },
  });
  const state = run(
    snapshot({ workers: [worker({ id: 1 })], completed: 0 }),
    events(chunk(true, 250), chunk(false, 3), chunk(false, 7, true)),
  );
  const pool = state.view.pool!;
  assert.deepEqual([pool.completed, pool.failed, pool.cancelled], [250, 3, 7]);
});

Deno.test("reduce() tracks current tasks, counts and errors from events between snapshots", () => {
  const state = run(
    snapshot({ workers: [worker({ id: 1 })], completed: 0 }),
    events(
      {
        type: "taskstart",
        detail: { taskId: 1, task: "square", workerId: 1, waitMs: 0, time: T0 + 10 },
      },
    ),
  );
  assert.equal(state.view.workers[0]!.state, "busy");
  assert.equal(state.view.workers[0]!.currentTask, "square");

  const after = [
    events(
      taskEnd(1, T0 + 20, 10),
      taskEnd(1, T0 + 30, 5, { name: "TaskError", message: "Unexpected end of JSON input" }),
    ),
  ].reduce(reduce, state);
  const row = after.view.workers[0]!;
  assert.equal(row.currentTask, null);
  assert.equal(row.state, "idle");
  assert.equal(row.tasksCompleted, 1);
  assert.equal(row.tasksFailed, 1);
  assert.equal(after.view.pool!.completed, 1);
  assert.equal(after.view.pool!.failed, 1);
  assert.deepEqual(after.view.errors, [{
    time: T0 + 30,
    task: "work",
    workerId: 1,
    name: "TaskError",
    message: "Unexpected end of JSON input",
  }]);
});

Deno.test("reduce() lists errors newest first, keeps the last MAX_ERRORS, and reports crashes", () => {
  const failures = Array.from(
    { length: MAX_ERRORS + 5 },
    (_, i) => taskEnd(1, T0 + i, 1, { name: "Error", message: `failure ${i}` }),
  );
  const state = run(
    events(...failures),
    events({
      type: "workerexit",
      detail: { workerId: 1, reason: "crashed", error: "out of memory", time: T0 + 999 },
    }),
  );
  assert.equal(state.view.errors.length, MAX_ERRORS);
  assert.equal(state.view.errors[0]!.name, "WorkerCrashError");
  assert.equal(state.view.errors[0]!.message, "out of memory");
  assert.equal(state.view.errors[1]!.message, `failure ${MAX_ERRORS + 4}`);
});

Deno.test("reduce() names a task's error by what the task threw", () => {
  const state = run(events(
    taskEnd(1, T0, 1, { name: "TaskError", message: "denied", cause: "NotCapable" }),
    taskEnd(1, T0 + 1, 1, { name: "TaskError", message: "a thrown string" }),
    taskEnd(1, T0 + 2, 1, { name: "TimeoutError", message: "too slow" }),
  ));
  assert.deepEqual(state.view.errors.map((e) => e.name), [
    "TimeoutError",
    "TaskError",
    "NotCapable",
  ]);
});

Deno.test("reduce() lists a cluster pool's hosts, joined by name and then those that left", () => {
  const stats = clusterStats({ time: T0 });
  const hosts = stats.hosts!;
  const left = { ...hosts[0]!, name: "delta", state: "left" as const, lastSeen: T0 - 1000 };
  // Out of order, as a roster may give them.
  const state = run({
    type: "snapshot",
    stats: { ...stats, hosts: [hosts[2]!, hosts[1]!, left, hosts[0]!] },
  });
  assert.deepEqual(state.view.hosts?.map((h) => [h.name, h.state]), [
    ["alpha", "joined"],
    ["beta", "joined"],
    ["delta", "left"], // left 1 s ago
    ["gamma", "left"], // left 12 s ago
  ]);
  assert.deepEqual(state.view.hosts![0], hosts[0]);
  // A local pool has no hosts section; a cluster pool before any host joins has an empty one.
  assert.equal(run(snapshot({})).view.hosts, null);
  assert.deepEqual(run(snapshot({ hosts: [] })).view.hosts, []);
  assert.equal(initialState({ status: "local", source: "demo" }).view.hosts, null);
});

Deno.test("reduce() names a cluster worker host/n, by its rank on its host, and its errors too", () => {
  const state = run(
    { type: "snapshot", stats: clusterStats({ time: T0 }) },
    events(
      taskEnd(1024, T0 + 5, 2, { name: "TaskError", message: "bad", cause: "RangeError" }),
      { type: "workerexit", detail: { workerId: 1, reason: "crashed", time: T0 + 6 } },
    ),
  );
  assert.deepEqual(state.view.workers.map((w) => [w.id, w.name, w.host]), [
    [0, "alpha/1", "alpha"],
    [1, "alpha/2", "alpha"],
    [1024, "beta/1", "beta"],
  ]);
  // Newest first: the crash, then the task that failed.
  assert.deepEqual(state.view.errors.map((e) => [e.worker, e.task, e.name]), [
    ["alpha/2", "worker alpha/2", "WorkerCrashError"],
    ["beta/1", "work", "RangeError"],
  ]);
  // A worker respawned in a slot keeps its name until the next snapshot says otherwise.
  const respawned = reduce(
    state,
    events({
      type: "workerspawn",
      detail: { workerId: 1, permissions: "none", isolation: "worker", time: T0 + 7 },
    }),
  );
  assert.equal(respawned.view.workers.find((w) => w.id === 1)?.name, "alpha/2");
  // A local pool's workers are named by id, and their errors carry no worker name.
  const local = run(
    snapshot({ workers: [worker({ id: 3 })] }),
    events(taskEnd(3, T0 + 5, 2, { name: "Error", message: "x" })),
  );
  assert.equal(local.view.workers[0]!.name, "3");
  assert.equal(local.view.workers[0]!.host, undefined);
  assert.equal(local.view.errors[0]!.worker, undefined);
});

Deno.test("reduce() adds a worker on workerspawn and marks it gone on workerexit", () => {
  const spawned = run(events({
    type: "workerspawn",
    detail: { workerId: 7, permissions: "read", isolation: "process", time: T0 },
  }));
  assert.deepEqual(
    spawned.view.workers.map((w) => [w.id, w.state, w.permissions, w.isolation]),
    [[7, "starting", "read", "process"]],
  );
  const gone = reduce(
    spawned,
    events({ type: "workerexit", detail: { workerId: 7, reason: "idle", time: T0 + 5 } }),
  );
  assert.equal(gone.view.workers[0]!.state, "gone");
  assert.deepEqual(gone.view.errors, []);
  // The next snapshot is the truth about who is alive.
  assert.deepEqual(reduce(gone, snapshot({ time: T0 + 10 })).view.workers, []);
});

Deno.test("reduce() draws one lane cell per tick: busy share, and red where a task failed", () => {
  const state = run(
    snapshot({ time: T0, workers: [worker({ id: 1 }), worker({ id: 2 })] }),
    // Worker 1 runs one task for the whole first tick; worker 2 stays idle.
    events({
      type: "taskstart",
      detail: { taskId: 1, task: "t", workerId: 1, waitMs: 0, time: T0 },
    }),
    snapshot({
      time: T0 + TICK_MS,
      workers: [worker({ id: 1, state: "busy", busyMs: TICK_MS }), worker({ id: 2 })],
    }),
    // Second tick: worker 1 finishes after a quarter of it; worker 2 fails a short task.
    events(
      taskEnd(1, T0 + TICK_MS * 1.25, TICK_MS * 1.25),
      taskEnd(2, T0 + TICK_MS * 1.5, TICK_MS * 0.5, { name: "Error", message: "x" }),
    ),
    snapshot({
      time: T0 + TICK_MS * 2,
      workers: [
        worker({ id: 1, busyMs: TICK_MS * 1.25, tasksCompleted: 1 }),
        worker({ id: 2, busyMs: TICK_MS * 0.5, tasksFailed: 1 }),
      ],
    }),
  );
  const [one, two] = state.view.workers;
  assert.deepEqual(one!.lane, [{ busy: 1, failed: false }, { busy: 0.25, failed: false }]);
  assert.deepEqual(two!.lane, [{ busy: 0, failed: false }, { busy: 0.5, failed: true }]);
});

Deno.test("reduce() keeps a lane busy through a long task whose events were dropped", () => {
  const state = run(
    snapshot({ time: T0, workers: [worker({ id: 1, state: "busy", currentTask: "long" })] }),
    snapshot({
      time: T0 + TICK_MS,
      workers: [worker({ id: 1, state: "busy", currentTask: "long", busyMs: 0 })],
    }),
  );
  assert.deepEqual(state.view.workers[0]!.lane, [{ busy: 1, failed: false }]);
});

Deno.test("reduce() samples throughput once per tick and keeps the last minute", () => {
  const actions: DashboardAction[] = [];
  for (let tick = 0; tick <= THROUGHPUT_SAMPLES + 10; tick++) {
    actions.push(snapshot({ time: T0 + tick * TICK_MS, completed: tick * 5, failed: tick }));
    // A snapshot in the middle of a tick does not add a sample.
    actions.push(snapshot({ time: T0 + tick * TICK_MS + 500, completed: tick * 5, failed: tick }));
  }
  const history = run(...actions).view.throughputHistory;
  assert.equal(history.length, THROUGHPUT_SAMPLES);
  assert.ok(history.every((rate) => Math.abs(rate - 6) < 1e-9), `${history}`);
});

Deno.test("reduce() starts over when the monitor now serves a restarted pool", () => {
  const before = run(
    snapshot({ time: T0, uptimeMs: 50_000, completed: 100 }),
    events(taskEnd(1, T0 + 1, 1, { name: "Error", message: "old" })),
    snapshot({ time: T0 + TICK_MS, uptimeMs: 51_000, completed: 110 }),
  );
  assert.equal(before.view.throughputHistory.length, 1);
  const after = reduce(before, snapshot({ time: T0 + 2 * TICK_MS, uptimeMs: 300 }));
  assert.deepEqual(after.view.throughputHistory, []);
  assert.deepEqual(after.view.errors, []);
  assert.equal(after.view.pool!.completed, 0);
});

Deno.test("reduce() records connection changes and when events were last sampled", () => {
  const state = run(
    { type: "connection", connection: { status: "disconnected", source: "u", retryAt: 5 } },
    { type: "events", events: [taskEnd(1, T0 + 7, 1)], truncated: ["taskend"] },
    { type: "events", events: [taskEnd(1, T0 + 9, 1)], truncated: [] },
  );
  assert.deepEqual(state.view.connection, { status: "disconnected", source: "u", retryAt: 5 });
  assert.equal(state.view.sampledAt, T0 + 7);
});

Deno.test("reduce() never changes the state it is given", () => {
  const start = run(snapshot({ workers: [worker({ id: 1 })] }));
  const frozen = JSON.stringify(start.view);
  reduce(start, events(taskEnd(1, T0 + 5, 5, { name: "Error", message: "x" })));
  reduce(start, snapshot({ time: T0 + TICK_MS, workers: [worker({ id: 1, busyMs: 10 })] }));
  assert.equal(JSON.stringify(start.view), frozen);
});
