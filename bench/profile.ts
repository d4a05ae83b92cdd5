/**
 * `deno task bench:profile`: where a task's cost goes, as counters rather than times.
 *
 * 1. Heap bytes allocated per task on the main thread, pool beside the raw-Worker floor
 *    (V8's young generation is made large enough that no collection runs while measuring,
 *    so the growth of the heap is what was allocated).
 * 2. CPU time per lone round trip by thread (Linux: `/proc/self/task/<id>/schedstat`):
 *    the main thread, the worker, and V8's helper threads (garbage collection, compiling).
 * 3. The pool's allocation sites for lone calls, from V8's sampling heap profiler, with the
 *    worker runtime run in this thread so both sides of the protocol show up.
 *
 * ```sh
 * deno task bench:profile                 # 4,000 tasks per figure, top 15 sites
 * deno task bench:profile --tasks 500 --sites 5
 * ```
 *
 * @module
 */

import { Session } from "node:inspector";
import { Pool, taskModule } from "../mod.ts";
import type { TransportFactory } from "../src/transport/transport.ts";
import { createRuntime } from "../workers/runtime.ts";
import { RawWorkers } from "./floors.ts";
import { TASKS_URL } from "./steps.ts";

const V8_FLAGS = "--expose-gc,--min-semi-space-size=128,--max-semi-space-size=128";

const HELP = `deno task bench:profile [--tasks N] [--sites K]

Counts what a task costs: heap bytes per task (main thread), CPU µs per lone round trip by
thread (Linux), and the pool's top allocation sites for lone calls.
  --tasks N   tasks per figure (default 4000)
  --sites K   allocation sites to list (default 15)
  --help      this text`;

const tasks = taskModule<typeof import("./tasks.ts")>(TASKS_URL);
const gc = (globalThis as { gc?: () => void }).gc;

interface Options {
  tasks: number;
  sites: number;
  /** Internal: this is the child that runs the heap counters. */
  heap: boolean;
}

function parseArgs(args: readonly string[]): Options {
  const options = { tasks: 4000, sites: 15, heap: false };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "--help" || flag === "-h") {
      console.log(HELP);
      Deno.exit(0);
    }
    if (flag === "--heap") {
      options.heap = true;
      continue;
    }
    if (flag !== "--tasks" && flag !== "--sites") {
      throw new TypeError(`Unknown argument '${flag}' (see --help)`);
    }
    const value = Number(args[++i]);
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${flag} needs a whole number >= 1`);
    }
    options[flag === "--tasks" ? "tasks" : "sites"] = value;
  }
  return options;
}

/** Heap growth per call of `step` over `n` calls, with a collection just before. */
async function bytesPerTask(
  n: number,
  pipelined: boolean,
  step: (i: number) => PromiseLike<unknown>,
): Promise<number> {
  for (let i = 0; i < 200; i++) await step(i); // warm: compiled, queues at their size
  gc!();
  const before = Deno.memoryUsage().heapUsed;
  if (pipelined) {
    const pending: PromiseLike<unknown>[] = [];
    for (let i = 0; i < n; i++) pending.push(step(i));
    await Promise.all(pending);
  } else {
    for (let i = 0; i < n; i++) await step(i);
  }
  return (Deno.memoryUsage().heapUsed - before) / n;
}

/** CPU ns each thread of this process has used, by "id:name". */
function cpuByThread(): Map<string, number> | undefined {
  const threads = new Map<string, number>();
  try {
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      const dir = `/proc/self/task/${entry.name}`;
      try {
        const name = Deno.readTextFileSync(`${dir}/comm`).trim();
        const ns = Number(Deno.readTextFileSync(`${dir}/schedstat`).split(" ")[0]);
        threads.set(`${entry.name}:${name}`, ns);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    return undefined; // not Linux
  }
  return threads;
}

/** µs of CPU per lone round trip: main thread, workers, V8 helpers; and wall µs. */
async function cpuPerRoundTrip(n: number, step: (i: number) => PromiseLike<unknown>) {
  for (let i = 0; i < 200; i++) await step(i);
  const before = cpuByThread();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await step(i);
  const wall = ((performance.now() - t0) * 1000) / n;
  const after = cpuByThread();
  if (!before || !after) return undefined;
  const split = { wall, main: 0, workers: 0, v8: 0 };
  for (const [thread, ns] of after) {
    const us = (ns - (before.get(thread) ?? 0)) / 1000 / n;
    if (thread.startsWith(`${Deno.pid}:`)) split.main += us;
    else if (/:(worker-|seed-pool)/.test(thread)) split.workers += us;
    else if (/:V8 /.test(thread)) split.v8 += us;
  }
  return split;
}

/** A transport that runs the worker runtime in this thread, so one heap profile sees both. */
const inThread: TransportFactory = ({ listener }) => {
  const runtime = createRuntime({
    post: (message) => queueMicrotask(() => listener.message(message)),
    close: () => {},
  });
  return {
    send: (message) => runtime.receive(message),
    terminate: () => Promise.resolve(),
  };
};

/** Bytes per lone call by allocation site (function and file), largest first. */
async function allocationSites(n: number): Promise<[site: string, bytes: number][]> {
  const pool = new Pool({ size: 1, transport: inThread } as ConstructorParameters<typeof Pool>[0]);
  try {
    for (let i = 0; i < 500; i++) await pool.apply(tasks.identity, [i]);
    const session = new Session();
    session.connect();
    const post = <T>(method: string, params: Record<string, unknown> = {}) =>
      new Promise<T>((resolve, reject) =>
        session.post(method, params, (error: Error | null, result?: object) => {
          if (error) reject(error);
          else resolve(result as T);
        })
      );
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", {
      samplingInterval: 32,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < n; i++) await pool.apply(tasks.identity, [i]);
    const { profile } = await post<{ profile: { head: ProfileNode } }>(
      "HeapProfiler.stopSampling",
    );
    session.disconnect();
    const root = new URL("../", import.meta.url).href;
    const bySite = new Map<string, number>();
    // A built-in (Promise, push) is named with the nearest caller that has a file.
    const walk = (node: ProfileNode, caller: string) => {
      const frame = node.callFrame;
      const name = frame.functionName || "(anonymous)";
      const here = frame.url
        ? `${name} ${frame.url.replace(root, "")}:${frame.lineNumber + 1}`
        : `${name} in ${caller}`;
      if (node.selfSize > 0) bySite.set(here, (bySite.get(here) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child, frame.url ? here : caller);
    };
    walk(profile.head, "(root)");
    return [...bySite].map(([site, bytes]) => [site, bytes / n] as [string, number])
      .sort((a, b) => b[1] - a[1]);
  } finally {
    await pool.terminate();
  }
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (options.heap) {
    if (typeof gc !== "function") {
      console.error(`--heap needs --v8-flags=${V8_FLAGS}`);
      return 2;
    }
    await heapSections(options);
    return 0;
  }
  console.log(
    `seed pool profile: Deno ${Deno.version.deno}, ${options.tasks} tasks per figure, pool size 2`,
  );
  await cpuSection(options.tasks);
  // The heap counters need V8 flags that would distort the CPU figures: a child runs them.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${V8_FLAGS}`,
      new URL(import.meta.url).pathname,
      "--heap",
      ...Deno.args,
    ],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}

async function cpuSection(n: number): Promise<void> {
  const raw = await RawWorkers.start(2, "identity");
  const raw1 = await RawWorkers.start(1, "identity");
  const pool = new Pool(2);
  await Promise.all([pool.apply(tasks.identity, [0]), pool.apply(tasks.identity, [0])]);
  try {
    console.log("\nCPU per lone round trip, by thread (µs; /proc/self/task/*/schedstat)\n");
    const splits: [string, Awaited<ReturnType<typeof cpuPerRoundTrip>>][] = [
      ["raw floor, 1 worker", await cpuPerRoundTrip(n, (i) => raw1.call(i))],
      ["raw floor, 2 workers", await cpuPerRoundTrip(n, (i) => raw.call(i))],
      ["pool apply, size 2", await cpuPerRoundTrip(n, (i) => pool.apply(tasks.identity, [i]))],
    ];
    if (splits.some(([, split]) => split === undefined)) {
      console.log("  n/a: needs Linux's /proc");
      return;
    }
    const head = ["wall", "main", "workers", "V8 helpers"];
    console.log(`  ${"".padEnd(24)} ${head.map((h) => h.padStart(10)).join(" ")}`);
    for (const [label, split] of splits) {
      const { wall, main, workers, v8 } = split!;
      const cells = [wall, main, workers, v8].map((us) => us.toFixed(1).padStart(10));
      console.log(`  ${label.padEnd(24)} ${cells.join(" ")}`);
    }
  } finally {
    raw.close();
    raw1.close();
    await pool.terminate();
  }
}

async function heapSections(options: Options): Promise<void> {
  const n = options.tasks;
  const raw = await RawWorkers.start(2, "identity");
  const pool = new Pool(2);
  await Promise.all([pool.apply(tasks.identity, [0]), pool.apply(tasks.identity, [0])]);
  try {
    console.log("\nHeap bytes allocated per task, main thread (no collection while measuring)\n");
    const rows: [string, number][] = [
      ["raw floor, one in flight", await bytesPerTask(n, false, (i) => raw.call(i))],
      [
        "pool apply, one in flight",
        await bytesPerTask(n, false, (i) => pool.apply(tasks.identity, [i])),
      ],
      ["raw floor, pipelined", await bytesPerTask(n, true, (i) => raw.call(i))],
      [
        "pool apply, pipelined",
        await bytesPerTask(n, true, (i) => pool.apply(tasks.identity, [i])),
      ],
      [
        "pool applyAsync, pipelined",
        await bytesPerTask(n, true, (i) => pool.applyAsync(tasks.identity, [i])),
      ],
    ];
    for (const [label, bytes] of rows) {
      console.log(`  ${label.padEnd(30)} ${bytes.toFixed(0).padStart(6)} B/task`);
    }
  } finally {
    raw.close();
    await pool.terminate();
  }

  console.log(
    "\nWhere a lone apply allocates, pool and worker runtime in one thread (sampled, B/task)\n",
  );
  const sites = await allocationSites(n);
  const total = sites.reduce((sum, [, bytes]) => sum + bytes, 0);
  console.log(`  ${total.toFixed(0).padStart(6)}  in all`);
  for (const [site, bytes] of sites.slice(0, options.sites)) {
    console.log(`  ${bytes.toFixed(0).padStart(6)}  ${site}`);
  }
}

Deno.exit(await main());
