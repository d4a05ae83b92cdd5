/**
 * Running a bench script in a fresh `deno run` process: its wall time (W4) or its peak
 * resident set size as `/usr/bin/time -v` reports it (W5).
 *
 * @module
 */

import { WrongResultError } from "./harness.ts";

const SCRIPTS = new URL("./scripts/", import.meta.url);
const PROJECT_ROOT = new URL("../", import.meta.url);
const GNU_TIME = "/usr/bin/time";

/** A script that takes longer is killed (and its step fails): the bench must not hang. */
const SCRIPT_TIMEOUT_MS = 60_000;

async function withDeadline(
  command: Deno.Command,
): Promise<Deno.CommandOutput & { timedOut: boolean }> {
  const child = command.spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, SCRIPT_TIMEOUT_MS);
  try {
    return Object.assign(await child.output(), { timedOut });
  } finally {
    clearTimeout(timer);
  }
}

/** What one script run gave. */
export interface ScriptRun {
  /** Wall time from spawn to exit, as the parent sees it. */
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** The `deno run` command line of a script of `bench/scripts/`. */
function denoArgs(script: string, args: readonly string[]): string[] {
  return ["run", "-A", "--quiet", pathOf(new URL(script, SCRIPTS)), ...args];
}

async function spawn(program: string, args: string[], expected: string): Promise<ScriptRun> {
  const command = new Deno.Command(program, {
    args,
    cwd: pathOf(PROJECT_ROOT), // so that deno.json applies, as it does to `deno task`
    env: { NO_COLOR: "1" }, // plain error messages for the table
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const start = performance.now();
  const output = await withDeadline(command);
  const ms = performance.now() - start;
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr);
  const name = args.find((arg) => arg.endsWith(".ts")) ?? program;
  if (output.timedOut) throw new Error(`${name} was killed after ${SCRIPT_TIMEOUT_MS / 1000} s`);
  if (!output.success) {
    const lines = stderr.trim().split("\n");
    const why = lines.find((line) => /^error: /.test(line)) ?? lines.find((line) => line.trim());
    throw new Error(
      `${name.split("/").pop()} ${args.slice(args.indexOf(name) + 1).join(" ")} exited with ` +
        `${output.code}: ${why?.replace(/^error: /, "") ?? "no message"}`,
    );
  }
  if (stdout.trim() !== expected) {
    throw new WrongResultError(`${name} printed ${JSON.stringify(stdout)}, not "${expected}"`);
  }
  return { ms, stdout, stderr };
}

/** Runs `deno run -A bench/scripts/<script> ...args`, which must print `expected`. */
export function runScript(script: string, args: readonly string[], expected: string) {
  return spawn(Deno.execPath(), denoArgs(script, args), expected);
}

/** Whether `/usr/bin/time` (GNU time, for `-v`) is there. */
export async function hasGnuTime(): Promise<boolean> {
  try {
    return (await Deno.stat(GNU_TIME)).isFile;
  } catch {
    return false;
  }
}

/** Runs a script under `/usr/bin/time -v` and returns its peak RSS in MiB. */
export async function peakRssMiB(
  script: string,
  args: readonly string[],
  expected: string,
): Promise<number> {
  const run = await spawn(GNU_TIME, ["-v", Deno.execPath(), ...denoArgs(script, args)], expected);
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr);
  if (!match) throw new Error(`${GNU_TIME} -v reported no maximum resident set size`);
  return Number(match[1]) / 1024;
}
