/**
 * `deno task bench`: the workloads of BENCH.md on the pool and, in the same process and
 * the same run, on a raw-Worker floor; prints a table of medians with min and max, and
 * each pool row's cost as a multiple of its floor's (the median of same-run ratios).
 *
 * ```sh
 * deno task bench                      # 1 warm-up + 5 timed runs of W1–W8
 * deno task bench --quick              # 1 run at reduced sizes (a smoke test, not figures)
 * deno task bench --only W1,W3 --json bench.json
 * ```
 *
 * @module
 */

import {
  describeError,
  type Env,
  measure,
  type Seed,
  type Workload,
  type WorkloadResult,
  WrongResultError,
} from "./harness.ts";
import { formatTable, formatTitles, toJson } from "./report.ts";
import { w1 } from "./workloads/w1_overhead.ts";
import { w2 } from "./workloads/w2_throughput.ts";
import { w3 } from "./workloads/w3_speedup.ts";
import { w4 } from "./workloads/w4_startup.ts";
import { w5 } from "./workloads/w5_memory.ts";
import { w6 } from "./workloads/w6_transfer.ts";
import { w7 } from "./workloads/w7_mixed.ts";
import { w8 } from "./workloads/w8_cluster.ts";

const WORKLOADS: readonly Workload[] = [w1, w2, w3, w4, w5, w6, w7, w8];

const HELP = `deno task bench [--quick] [--only W1,W3] [--runs N] [--json FILE]

Runs the workloads of BENCH.md on the pool and on a raw-Worker floor in the same run.
  --quick      1 run of each at reduced sizes, no warm-up (a smoke test, not figures)
  --only IDS   a comma-separated subset of ${WORKLOADS.map((w) => w.id).join(",")}
  --runs N     timed runs after the warm-up (default 5)
  --json FILE  also write every figure, run by run, to FILE
  --help       this text`;

interface Options {
  quick: boolean;
  only: Set<string> | undefined;
  runs: number;
  json: string | undefined;
}

function parseArgs(args: readonly string[]): Options {
  const options: Options = { quick: false, only: undefined, runs: 5, json: undefined };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const next = inline ?? args[++i];
      if (next === undefined) throw new TypeError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--help":
      case "-h":
        console.log(HELP);
        Deno.exit(0);
        break;
      case "--quick":
        options.quick = true;
        break;
      case "--only": {
        const ids = value().split(",").map((id) => id.trim().toUpperCase()).filter(Boolean);
        const unknown = ids.filter((id) => !WORKLOADS.some((w) => w.id === id));
        if (unknown.length > 0) throw new RangeError(`--only: no workload ${unknown.join(", ")}`);
        options.only = new Set(ids);
        break;
      }
      case "--runs": {
        const runs = Number(value());
        if (!Number.isInteger(runs) || runs < 1) throw new RangeError("--runs must be >= 1");
        options.runs = runs;
        break;
      }
      case "--json":
        options.json = value();
        break;
      default:
        throw new TypeError(`Unknown argument '${args[i]}' (see --help)`);
    }
  }
  return options;
}

/** Loads the pool's module; the floors still run when it cannot be loaded. */
async function loadSeed(): Promise<{ seed?: Seed; missing: string }> {
  try {
    // A computed specifier, so that a broken or absent pool does not stop the floors.
    const seed = await import(new URL("../mod.ts", import.meta.url).href) as Seed;
    if (typeof seed.Pool !== "function") return { missing: "mod.ts exports no Pool yet" };
    return { seed, missing: "" };
  } catch (error) {
    return { missing: `the pool cannot be loaded (${describeError(error)})` };
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(Deno.args);
  } catch (error) {
    console.error(describeError(error));
    return 2;
  }
  const { seed, missing } = await loadSeed();
  const env: Env = { quick: options.quick, seed, seedMissing: missing };
  const warmups = options.quick ? 0 : 1;
  const runs = options.quick ? 1 : options.runs;
  const selected = WORKLOADS.filter((w) => !options.only || options.only.has(w.id));

  const meta = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    platform: `${Deno.build.os}-${Deno.build.arch}`,
    cores: navigator.hardwareConcurrency,
    loadAverage: Deno.loadavg(),
    poolSize: 2,
    quick: options.quick,
    warmups,
    runs,
  };
  console.log(
    `seed pool bench: Deno ${meta.deno}, ${meta.platform}, ${meta.cores} cores, load ` +
      `${meta.loadAverage.map((x) => x.toFixed(2)).join(" ")}; pool size 2; ` +
      (options.quick
        ? "--quick: 1 run at reduced sizes (a smoke test, not figures)"
        : `medians of ${runs} timed runs after ${warmups} warm-up`),
  );
  if (!seed) console.log(`pool rows: n/a, ${missing}`);

  const results: WorkloadResult[] = [];
  let failure: unknown;
  for (const workload of selected) {
    try {
      results.push(
        await measure(workload, env, {
          warmups,
          runs,
          log: (line) => console.error(`  ${line}`),
        }),
      );
    } catch (error) {
      failure = error;
      break;
    }
  }

  console.log("");
  console.log(formatTitles(results));
  console.log("");
  console.log(formatTable(results));
  console.log("");
  console.log(
    "Pool rows call bench/tasks.ts through taskModule references (the recommended path) unless\n" +
      'marked "inline". "vs floor" is the row\'s cost over its floor\'s cost in the same run\n' +
      "(time, or 1 / throughput, or 1 / speedup, or MiB), the median over runs: 1.00 is as\n" +
      "cheap as a hand-written Worker loop, 2.00 twice its cost. W4 rows are net of the bare\n" +
      "`deno run` row; W5 rows are peak RSS above a bare Deno process.",
  );
  const loadAtEnd = Deno.loadavg();
  console.log(
    `load average at the end: ${loadAtEnd.map((x) => x.toFixed(2)).join(" ")} ` +
      "(above ~0.5 on 2 cores, other work shared the machine: trust ratios over absolutes)",
  );
  if (options.json) {
    const figures = toJson({ ...meta, loadAverageAtEnd: loadAtEnd }, results);
    await Deno.writeTextFile(options.json, figures + "\n");
    console.log(`figures written to ${options.json}`);
  }
  if (failure !== undefined) {
    const what = failure instanceof WrongResultError ? "a wrong result" : "an error";
    console.error(`\nbench aborted by ${what}: ${describeError(failure)}`);
    if (!(failure instanceof WrongResultError) && failure instanceof Error) {
      console.error(failure.stack);
    }
    return 1;
  }
  return 0;
}

// An unfinished feature that timed out may leave workers behind: end regardless.
Deno.exit(await main());
