/** @jsxImportSourceTypes @types/react */
import assert from "node:assert/strict";
// @ts-types="./_ink_testing.d.ts"
import { render } from "ink-testing-library";
import type { HostStats } from "../mod.ts";
import type { DashboardView, ErrorRow, LaneCell, WorkerRow } from "../tui/model.ts";
import { Dashboard, dashboardLayout } from "../tui/components/dashboard.tsx";
import { Header } from "../tui/components/header.tsx";
import { Lane, WorkerTable } from "../tui/components/workers.tsx";
import { Throughput } from "../tui/components/throughput.tsx";
import { ErrorList } from "../tui/components/errors.tsx";
import { HostTable } from "../tui/components/hosts.tsx";
import type { ReactElement } from "react";
import { Text } from "ink";

const T0 = 1_700_000_000_000;

/** Renders once and returns the frame as plain lines. */
function frame(tree: ReactElement): string[] {
  const instance = render(tree);
  const text = instance.lastFrame() ?? "";
  instance.unmount();
  instance.cleanup();
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
}

function cells(text: string): number {
  return [...text].length;
}

function workerRow(overrides: Partial<WorkerRow> = {}): WorkerRow {
  const lane: LaneCell[] = Array.from({ length: 30 }, (_, i) => ({
    busy: (i % 5) / 4,
    failed: i === 28,
  }));
  return {
    id: 1,
    name: String(overrides.id ?? 1),
    state: "busy",
    permissions: "read=/work/main/tui",
    isolation: "worker",
    currentTask: "monteCarloPi",
    tasksCompleted: 1234,
    tasksFailed: 3,
    utilization: 0.72,
    lane,
    ...overrides,
  };
}

function error(i: number): ErrorRow {
  return {
    time: T0 + i * 1000,
    task: i % 2 ? "readSecret" : "parseReading",
    workerId: 1 + (i % 2),
    name: "TaskError",
    message: i % 2
      ? `Requires read access to "/etc/hostname", run again with the --allow-read flag`
      : `Unexpected token 's', "sensor t3: offline" is not valid JSON (${i})`,
  };
}

function view(overrides: Partial<DashboardView> = {}): DashboardView {
  return {
    connection: { status: "local", source: "demo" },
    pool: {
      name: "demo",
      size: 2,
      isolation: "worker",
      state: "running",
      uptimeMs: 83_000,
      completed: 12_345,
      failed: 12,
      cancelled: 4,
      queued: 3,
      running: 2,
      throughput: 14.2,
      utilization: 0.78,
      latency: {
        waitMs: { p50: 0.4, p95: 12, p99: 80 },
        runMs: { p50: 21, p95: 1200, p99: 1900 },
      },
    },
    workers: [
      workerRow({ id: 1 }),
      workerRow({ id: 2, state: "idle", currentTask: null, utilization: 0.1 }),
    ],
    throughputHistory: Array.from({ length: 60 }, (_, i) => 5 + 10 * Math.abs(Math.sin(i / 6))),
    hosts: null,
    errors: Array.from({ length: 30 }, (_, i) => error(30 - i)),
    sampledAt: 0,
    time: T0,
    ...overrides,
  };
}

Deno.test("Dashboard fits 80×24 and shows header, workers, throughput, latency and errors", () => {
  const lines = frame(<Dashboard view={view()} width={80} height={24} now={T0} refreshMs={500} />);
  assert.ok(lines.length <= 23, `${lines.length} lines:\n${lines.join("\n")}`);
  for (const line of lines) assert.ok(cells(line) <= 80, `too wide (${cells(line)}): ${line}`);
  const text = lines.join("\n");
  assert.match(lines[0]!, /seed pool · demo .*2 workers · worker isolation · up 1m 23s/);
  assert.match(lines[0]!, /● local demo$/);
  assert.match(
    lines[1]!,
    /done 12,345 {2}failed 12 {2}cancelled 4 {2}tasks\/s 14\.2 {2}queue 3 {2}running 2/,
  );
  assert.match(text, /^ +1 busy +read=…\/tui +monteCarloPi +1,237 █/m);
  assert.match(text, /^ +2 idle +read=…\/tui +- +1,237 /m);
  assert.match(text, /─ throughput {2}14\.2 tasks\/s · queue 3 · last 60s/);
  assert.match(
    text,
    /latency wait p50 0\.4ms p95 12ms p99 80ms │ run p50 21ms p95 1\.2s p99 1\.9s/,
  );
  assert.match(text, /─ recent errors {2}\(30\)/);
  assert.match(text, /w2 {2}readSecret +✗ Requires read access to "\/etc\/hostname"/);
  assert.match(lines.at(-1)!, /q quit · refresh 500ms/);
});

Deno.test("Dashboard uses the room of a larger terminal: wider columns, taller sparkline, more errors", () => {
  const small = frame(<Dashboard view={view()} width={80} height={24} now={T0} refreshMs={500} />);
  const large = frame(<Dashboard view={view()} width={140} height={45} now={T0} refreshMs={500} />);
  assert.ok(large.length > small.length);
  for (const line of large) assert.ok(cells(line) <= 140);
  const errorLines = (lines: string[]) => lines.filter((l) => / ✗ /.test(l)).length;
  assert.ok(errorLines(large) > errorLines(small));
  const laneOf = (lines: string[]) => Number(lines.join("\n").match(/history \((\d+)s\)/)![1]);
  assert.ok(laneOf(large) > laneOf(small));
  // The full permission path only fits when wide.
  assert.ok(!small.join("\n").includes("read=/work/main/tui"));
  assert.ok(large.join("\n").includes("read=/work/main/tui"));
  const layoutSmall = dashboardLayout(24, 2);
  const layoutLarge = dashboardLayout(45, 2);
  assert.ok(layoutLarge.sparklineRows > layoutSmall.sparklineRows);
});

Deno.test("Dashboard with more workers than rows lists what fits and counts the rest", () => {
  const workers = Array.from({ length: 20 }, (_, i) => workerRow({ id: i + 1 }));
  const lines = frame(
    <Dashboard view={view({ workers })} width={80} height={24} now={T0} refreshMs={500} />,
  );
  assert.ok(lines.length <= 23);
  const text = lines.join("\n");
  assert.match(text, /… and \d+ more workers/);
  const shown = lines.filter((l) => /^ +\d+ busy /.test(l)).length;
  assert.equal(Number(text.match(/… and (\d+) more/)![1]) + shown, 20);
});

Deno.test("Dashboard before the first snapshot says it is waiting", () => {
  const lines = frame(
    <Dashboard
      view={view({ pool: null, workers: [], errors: [], throughputHistory: [] })}
      width={80}
      height={24}
      now={T0}
      refreshMs={250}
    />,
  );
  const text = lines.join("\n");
  assert.match(text, /waiting for the first snapshot/);
  assert.match(text, /no workers yet/);
  assert.match(text, /none yet/);
});

Deno.test("Header shows why the connection dropped and the time to the next attempt", () => {
  const lines = frame(
    <Header
      pool={view().pool}
      connection={{
        status: "disconnected",
        source: "http://127.0.0.1:9/",
        message: "connection refused at http://127.0.0.1:9/",
        retryAt: T0 + 2500,
      }}
      width={80}
      now={T0}
    />,
  );
  assert.match(lines[0]!, /✗ connection refused at http:\/\/127\.0\.0\.1:9\/, retrying in 3s$/);
  const unexplained = frame(
    <Header
      pool={null}
      connection={{ status: "disconnected", source: "u", retryAt: T0 + 2500 }}
      width={80}
      now={T0}
    />,
  );
  assert.match(unexplained[0]!, /✗ disconnected, retrying in 3s$/);
  const connecting = frame(
    <Header pool={null} connection={{ status: "connecting", source: "u" }} width={80} now={T0} />,
  );
  assert.match(connecting[0]!, /○ connecting…$/);
});

Deno.test("Lane draws idle as dots, busy as rising blocks, a failed idle tick as ✗, newest right", () => {
  const lines = frame(
    <Text>
      <Lane
        cells={[
          { busy: 0, failed: false },
          { busy: 0.5, failed: false },
          { busy: 1, failed: false },
          { busy: 0, failed: true },
        ]}
        width={6}
      />
    </Text>,
  );
  assert.equal(lines[0], "  ·▄█✗");
});

Deno.test("WorkerTable shows the column header and the worker's task, count and utilization", () => {
  const lines = frame(
    <WorkerTable
      workers={[workerRow({ utilization: 0.5 })]}
      width={80}
      maxRows={5}
      maxLane={120}
    />,
  );
  assert.match(lines[0]!, /id state +perms +task +done util +history \(20s\)/);
  assert.match(lines[1]!, /1 busy +read=…\/tui +monteCarloPi +1,237 ████ +50%/);
  assert.equal(cells(lines[1]!), 80);
});

Deno.test("Throughput scales the sparkline to its peak and labels it", () => {
  const lines = frame(<Throughput history={[0, 5, 10, 20]} width={40} height={2} />);
  assert.equal(lines.length, 2);
  assert.equal(lines[0], " 20.0/s    █");
  assert.equal(lines[1], "      0  ▄██");
});

Deno.test("ErrorList shows 'none yet' without errors, and at most maxRows lines with them", () => {
  assert.match(frame(<ErrorList errors={[]} width={80} maxRows={3} />)[0]!, /none yet/);
  const lines = frame(
    <ErrorList errors={[error(1), error(2), error(3), error(4)]} width={80} maxRows={3} />,
  );
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /w2 {2}readSecret +✗ Requires read access/);
  const crash = frame(
    <ErrorList
      errors={[{ ...error(1), task: "worker 3", name: "WorkerCrashError", message: "died" }]}
      width={80}
      maxRows={3}
    />,
  );
  assert.match(crash[0]!, /worker 3 +WorkerCrashError: died/);
});

function host(name: string, overrides: Partial<HostStats> = {}): HostStats {
  return {
    name,
    state: "joined",
    workers: 8,
    busy: 5,
    completed: 48_210,
    failed: 3,
    throughput: 212.4,
    joinedAt: T0 - 754_000,
    lastSeen: T0 - 300,
    ...overrides,
  };
}

/** A cluster pool of three hosts, one of which left 42 s ago, and its workers named by host. */
function clusterView(): DashboardView {
  const onHost = (id: number, name: string, rest: Partial<WorkerRow> = {}) =>
    workerRow({ id, name, host: name.split("/")[0]!, permissions: "none", ...rest });
  return view({
    pool: { ...view().pool!, name: "jobs", size: 12 },
    hosts: [
      host("build-01"),
      host("build-02", { workers: 4, busy: 0, completed: 9_120, failed: 0, throughput: 0 }),
      host("gpu-7", {
        state: "left",
        workers: 2,
        busy: 0,
        completed: 310,
        failed: 12,
        throughput: 0,
        lastSeen: T0 - 42_000,
      }),
    ],
    workers: [
      onHost(0, "build-01/1"),
      onHost(1, "build-01/2", { state: "idle", currentTask: null, utilization: 0 }),
      onHost(1024, "build-02/1", { state: "idle", currentTask: null, utilization: 0.05 }),
    ],
    errors: [{ ...error(1), workerId: 2048, worker: "gpu-7/1" }, error(2)],
  });
}

Deno.test("Dashboard of a cluster pool shows its hosts: joined ones and one that left", () => {
  const lines = frame(
    <Dashboard view={clusterView()} width={80} height={24} now={T0} refreshMs={500} />,
  );
  assert.ok(lines.length <= 23, `${lines.length} lines:\n${lines.join("\n")}`);
  for (const line of lines) assert.ok(cells(line) <= 80, `too wide (${cells(line)}): ${line}`);
  const text = lines.join("\n");
  assert.match(text, /─ hosts {2}2 joined · 1 left ─/);
  assert.match(text, /^ host +state +workers +busy +tasks\/s +done +failed$/m);
  assert.match(text, /^ build-01 +joined +8 +5 +212 +48,210 +3 {2}up 12m 34s/m);
  assert.match(text, /^ build-02 +joined +4 +0 +0 +9,120 +0 {2}up 12m 34s/m);
  // A host that left says so, and since when; it runs nothing, so no rate.
  assert.match(text, /^ gpu-7 +left +2 +0 +- +310 +12 {2}left 42s ago/m);
  // The hosts come before the workers, which are named by host.
  assert.ok(text.indexOf("─ hosts") < text.indexOf("─ workers"));
  assert.match(text, /^ worker +state +perms +task/m);
  assert.match(text, /^ build-01\/1 busy +none +monteCarloPi +1,237 █/m);
  assert.match(text, /^ build-01\/2 idle +none +- /m);
  assert.match(text, /^ build-02\/1 idle /m);
  // An error names the worker by its host too.
  assert.match(text, /gpu-7\/1 +readSecret +✗ Requires read access/);
  assert.match(lines.at(-1)!, /q quit · refresh 500ms/);
});

Deno.test("Dashboard of a local pool has no hosts section and names workers by id", () => {
  const text = frame(<Dashboard view={view()} width={80} height={24} now={T0} refreshMs={500} />)
    .join("\n");
  assert.ok(!/hosts/.test(text), text);
  assert.match(text, /^ +id state +perms/m);
  assert.match(text, /^ +1 busy +read=…\/tui/m);
  assert.equal(dashboardLayout(24, 2).hostRows, 0);
});

Deno.test("Dashboard of a cluster pool before any host joined says so", () => {
  const lines = frame(
    <Dashboard
      view={view({ hosts: [], workers: [], errors: [] })}
      width={80}
      height={24}
      now={T0}
      refreshMs={500}
    />,
  );
  const text = lines.join("\n");
  assert.match(text, /─ hosts {2}0 joined ─/);
  assert.match(text, /no hosts yet/);
  assert.match(text, /no workers yet/);
});

Deno.test("Dashboard with many hosts and workers keeps every section within 80×24", () => {
  const hosts = Array.from({ length: 12 }, (_, i) => host(`node-${i + 1}`));
  const workers = Array.from(
    { length: 96 },
    (_, i) => workerRow({ id: i, name: `node-${1 + (i >> 3)}/${1 + (i & 7)}`, host: "node" }),
  );
  const lines = frame(
    <Dashboard view={view({ hosts, workers })} width={80} height={24} now={T0} refreshMs={500} />,
  );
  assert.ok(lines.length <= 23, `${lines.length} lines:\n${lines.join("\n")}`);
  const text = lines.join("\n");
  assert.match(text, /… and \d+ more hosts/);
  assert.match(text, /… and \d+ more workers/);
  assert.match(text, /─ throughput/);
  assert.match(text, /─ recent errors/);
  const shownHosts = lines.filter((l) => /^ node-\d+ +joined/.test(l)).length;
  assert.equal(Number(text.match(/… and (\d+) more hosts/)![1]) + shownHosts, 12);
  const layout = dashboardLayout(24, 96, 12);
  assert.ok(layout.hostRows >= 1 && layout.workerRows >= 1 && layout.errorRows >= 2);
});

Deno.test("HostTable cuts a long host name, and WorkerTable keeps the worker's /n when it does", () => {
  const long = "a-very-long-hostname.eu-west-1.compute.internal";
  const hosts = frame(<HostTable hosts={[host(long)]} width={80} maxRows={3} time={T0} />);
  for (const line of hosts) assert.ok(cells(line) <= 80, `too wide: ${line}`);
  assert.match(hosts[1]!, /^ a-very-long-hos… joined +8 +5 +212 /);
  const workers = frame(
    <WorkerTable
      workers={[
        workerRow({ id: 0, name: `${long}/1`, host: long }),
        workerRow({ id: 1, name: `${long}/2`, host: long }),
      ]}
      width={80}
      maxRows={5}
      maxLane={120}
    />,
  );
  assert.match(workers[1]!, /^ a-very-long-hostn…\/1 busy /);
  assert.match(workers[2]!, /^ a-very-long-hostn…\/2 busy /);
  for (const line of workers) assert.ok(cells(line) <= 80, `too wide: ${line}`);
});
