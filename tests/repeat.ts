/**
 * `deno task test:repeat`: runs the whole suite (`deno task test`) again and again, the way CI
 * meets it, and reports which tests failed in which runs. A test that fails once in twenty
 * runs is a flake: it blocks a landing as surely as a real failure.
 *
 * ```sh
 * deno task test:repeat --runs 20            # warm: this checkout, the usual Deno cache
 * deno task test:repeat --runs 20 --cold     # a fresh clone of HEAD and an empty DENO_DIR per run
 * deno task test:repeat --runs 10 --load     # with a busy loop on one core beside the suite
 * ```
 *
 * @module
 */

import { Command as Cli } from "commander";

interface RunOutcome {
  run: number;
  ok: boolean;
  summary: string;
  failed: string[];
  seconds: number;
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const program = new Cli()
  .name("deno task test:repeat")
  .description("Run `deno task test` N times and report every test that failed at least once")
  .option("-n, --runs <count>", "how many full runs", "5")
  .option("--cold", "each run in a fresh clone of HEAD with an empty DENO_DIR", false)
  .option("--load", "keep one core busy with a spinning process during the runs", false)
  .option("--stop-on-failure", "stop after the first failing run", false)
  .option("--log-dir <dir>", "keep each run's full output here (default: a temp dir)")
  .parse(["deno", "repeat", ...Deno.args]);

const options = program.opts<{
  runs: string;
  cold: boolean;
  load: boolean;
  stopOnFailure: boolean;
  logDir?: string;
}>();
const runs = Number(options.runs);
if (!Number.isInteger(runs) || runs < 1) {
  program.error(`error: '--runs' must be a positive integer: current value is ${options.runs}`, {
    exitCode: 2,
  });
}
const logDir = options.logDir ?? await Deno.makeTempDir({ prefix: "seed-pool-repeat-" });
await Deno.mkdir(logDir, { recursive: true });

const spinner = options.load
  ? new Deno.Command(Deno.execPath(), { args: ["eval", "for (;;) {}"] }).spawn()
  : null;

const outcomes: RunOutcome[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    const outcome = await runOnce(run);
    outcomes.push(outcome);
    const verdict = outcome.ok ? "ok" : `FAILED: ${outcome.failed.join("; ") || outcome.summary}`;
    console.log(
      `run ${run}/${runs} (${outcome.seconds.toFixed(0)} s): ${outcome.summary} ${verdict}`,
    );
    if (!outcome.ok && options.stopOnFailure) break;
  }
} finally {
  if (spinner) {
    spinner.kill("SIGKILL");
    await spinner.status;
  }
}

const failures = new Map<string, number[]>();
for (const outcome of outcomes) {
  for (const name of outcome.failed) failures.set(name, [...failures.get(name) ?? [], outcome.run]);
}
const passedRuns = outcomes.filter((o) => o.ok).length;
console.log(
  `\n${passedRuns} of ${outcomes.length} full runs passed` +
    `${options.cold ? " (cold: fresh clone, empty DENO_DIR)" : " (warm)"}` +
    `${options.load ? ", one core loaded" : ""}; logs in ${logDir}`,
);
for (const [name, where] of failures) console.log(`  failed in run ${where.join(", ")}: ${name}`);
const broken = outcomes.filter((o) => !o.ok && o.failed.length === 0);
for (const o of broken) {
  console.log(`  run ${o.run} stopped before or outside a test: ${o.summary}`);
}
Deno.exit(passedRuns === outcomes.length ? 0 : 1);

async function runOnce(run: number): Promise<RunOutcome> {
  const started = performance.now();
  let cwd = root;
  const env: Record<string, string> = { NO_COLOR: "1" };
  let scratch: string | null = null;
  if (options.cold) {
    scratch = await Deno.makeTempDir({ prefix: "seed-pool-cold-" });
    cwd = `${scratch}/main`;
    await exec("git", ["clone", "--quiet", root, cwd], root, env);
    // The suite reads ../shared as CI does: a clean clone sits beside a copy of it.
    await exec("cp", ["-r", `${root}/../shared`, `${scratch}/shared`], root, env).catch(() => {});
    env.DENO_DIR = `${scratch}/deno_dir`;
  }
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "test"],
      cwd,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    await Deno.writeTextFile(`${logDir}/run-${run}.log`, text);
    const summary = text.match(/^(?:ok|FAILED) \| \d+ passed.*$/m)?.[0] ??
      lastLine(text) ?? "no output";
    const failed = [...text.matchAll(/^(.+?) \.\.\. FAILED/gm)].map((m) => m[1]!.trim());
    return {
      run,
      ok: output.success,
      summary: summary.replace(/\s*\(\d.*\)$/, ""),
      failed: [...new Set(failed)],
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (scratch) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

async function exec(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
  const { success, stderr } = await new Deno.Command(cmd, { args, cwd, env, stderr: "piped" })
    .output();
  if (!success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

function lastLine(text: string): string | undefined {
  return text.trimEnd().split("\n").at(-1);
}
