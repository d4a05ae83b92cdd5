/**
 * Fresh closures against a hoisted function: the natural loop
 * `for (…) await pool.apply((x) => x + 1, [i])` makes a new function per call. Prints, per
 * isolation, the cost per call of each form and how much memory the pool's process and its
 * worker gained over the calls (after a garbage collection where one can be forced).
 *
 * ```sh
 * deno run -A bench/closures.ts                       # 200,000 calls, both isolations
 * deno run -A bench/closures.ts --calls 50000 --isolation process
 * ```
 *
 * Two ways to call: `await` (each call awaited before the next: one task in flight, as the
 * loop above) and `pipelined` (`applyAsync` in a loop, awaited in windows of 10,000, as W1
 * does), where the pool's own cost per call is a larger share. Each (isolation, mode,
 * form) runs in a process of its own, so one's garbage does not count against another.
 *
 * @module
 */

import { type Isolation, Pool } from "../mod.ts";

type Form = "hoisted" | "fresh";
type Mode = "await" | "pipelined";
const WINDOW = 10_000;

interface Sample {
  usPerCall: number;
  heapMiB: [before: number, after: number];
  rssMiB: [before: number, after: number];
  workerHeapMiB: [before: number, after: number];
  workerRssMiB: [before: number, after: number] | null;
}

const MiB = 1024 * 1024;
const WARM_UP_CALLS = 2_000;

function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(name);
  return at === -1 ? undefined : Deno.args[at + 1];
}

/** The RSS of a process, MiB, from /proc (Linux). */
function processRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Runs one form in this process and returns its figures. */
async function measure(
  isolation: Isolation,
  mode: Mode,
  form: Form,
  calls: number,
): Promise<Sample> {
  await using pool = new Pool({ size: 1, isolation });
  const workerPid = await pool.apply(() => Deno.pid);
  const workerHeap = () =>
    pool.apply(() => {
      (globalThis as { gc?: () => void }).gc?.();
      return Deno.memoryUsage().heapUsed / (1024 * 1024);
    });
  const inc = (x: number) => x + 1;
  const run = async (n: number): Promise<number> => {
    let sum = 0;
    const start = performance.now();
    if (mode === "await" && form === "hoisted") {
      for (let i = 0; i < n; i++) sum += await pool.apply(inc, [i]);
    } else if (mode === "await") {
      for (let i = 0; i < n; i++) sum += await pool.apply((x: number) => x + 1, [i]);
    } else {
      for (let from = 0; from < n; from += WINDOW) {
        const window: PromiseLike<number>[] = [];
        const to = Math.min(n, from + WINDOW);
        if (form === "hoisted") {
          for (let i = from; i < to; i++) window.push(pool.applyAsync(inc, [i]));
        } else {
          for (let i = from; i < to; i++) {
            window.push(pool.applyAsync((x: number) => x + 1, [i]));
          }
        }
        for (const value of await Promise.all(window)) sum += value;
      }
    }
    const elapsed = performance.now() - start;
    if (sum !== n * (n + 1) / 2) throw new Error(`wrong sum ${sum}`);
    return elapsed;
  };
  await run(WARM_UP_CALLS);
  const workerRss = () => isolation === "process" ? processRssMiB(workerPid) : NaN;
  collectGarbage();
  const heapBefore = Deno.memoryUsage().heapUsed / MiB;
  const rssBefore = Deno.memoryUsage().rss / MiB;
  const workerHeapBefore = await workerHeap();
  const workerRssBefore = workerRss();
  const elapsed = await run(calls);
  collectGarbage();
  return {
    usPerCall: elapsed * 1000 / calls,
    heapMiB: [heapBefore, Deno.memoryUsage().heapUsed / MiB],
    rssMiB: [rssBefore, Deno.memoryUsage().rss / MiB],
    workerHeapMiB: [workerHeapBefore, await workerHeap()],
    workerRssMiB: isolation === "process" ? [workerRssBefore, workerRss()] : null,
  };
}

/** Runs one form in a child process with a forcible garbage collector. */
async function measureInChild(
  isolation: Isolation,
  mode: Mode,
  form: Form,
  calls: number,
): Promise<Sample> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--child",
      isolation,
      mode,
      form,
      String(calls),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`the ${isolation} ${mode} ${form} run failed`);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

function mib([before, after]: [number, number]): string {
  return `${before.toFixed(1)} → ${after.toFixed(1)} (${after - before >= 0 ? "+" : ""}${
    (after - before).toFixed(1)
  })`;
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    const [, isolation, mode, form, calls] = Deno.args as [string, Isolation, Mode, Form, string];
    console.log(JSON.stringify(await measure(isolation, mode, form, Number(calls))));
  } else {
    const calls = Number(flag("--calls") ?? 200_000);
    const only = flag("--isolation") as Isolation | undefined;
    const isolations: Isolation[] = only ? [only] : ["worker", "process"];
    console.log(
      `bench/closures: ${calls.toLocaleString("en")} calls per row, pool of 1; ` +
        `load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}\n`,
    );
    console.log(
      "| isolation | mode | form | µs/call | vs hoisted | main heap MiB | main RSS MiB | " +
        "worker heap MiB | worker RSS MiB |",
    );
    console.log("|---|---|---|---:|---:|---|---|---|---|");
    for (const isolation of isolations) {
      for (const mode of ["await", "pipelined"] as const) {
        const hoisted = await measureInChild(isolation, mode, "hoisted", calls);
        const fresh = await measureInChild(isolation, mode, "fresh", calls);
        for (const [form, sample] of [["hoisted", hoisted], ["fresh", fresh]] as const) {
          console.log(
            `| ${isolation} | ${mode} | ${form} | ${sample.usPerCall.toFixed(2)} | ${
              (sample.usPerCall / hoisted.usPerCall).toFixed(2)
            }× | ${mib(sample.heapMiB)} | ${mib(sample.rssMiB)} | ${mib(sample.workerHeapMiB)} | ${
              sample.workerRssMiB ? mib(sample.workerRssMiB) : "(in main RSS)"
            } |`,
          );
        }
      }
    }
    console.log(`\nload at the end: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  }
}
