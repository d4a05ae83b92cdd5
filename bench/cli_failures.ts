/**
 * What a failing line costs `pool map`, beside a succeeding one: the CLI is run as
 * `deno task pool` runs it (`deno run -A --no-prompt cli/main.ts`) over the same input with
 * a function that returns, one that throws a `RangeError`, and one denied read access
 * (`NotCapable`); the last also without `--no-prompt`, where Deno records every refusal in a
 * list that each later permission check scans (so the run grows with the square of its
 * failures).
 *
 * ```sh
 * deno run -A bench/cli_failures.ts                  # 10,000 lines, median of 3 runs
 * deno run -A bench/cli_failures.ts --lines 2000 --runs 1
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

const TASKS = `
export function succeeds(x: number): number {
  return x * 2;
}
export function throws(x: number): number {
  throw new RangeError(\`bad input: \${x}\`);
}
export function denied(x: number): string {
  return Deno.readTextFileSync(\`/no/such/dir/\${x}\`);
}
`;

interface Case {
  readonly label: string;
  readonly exportName: string;
  readonly prompts: boolean;
}

const CASES: readonly Case[] = [
  { label: "succeeds", exportName: "succeeds", prompts: false },
  { label: "throws RangeError", exportName: "throws", prompts: false },
  { label: "denied (NotCapable)", exportName: "denied", prompts: false },
  { label: "denied, without --no-prompt", exportName: "denied", prompts: true },
];

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Cannot run the benchmark as '${name}' must be a positive integer`);
  }
  return value;
}

/** Runs the CLI once over the input; returns its wall time, ms. */
async function runOnce(folder: string, entry: Case): Promise<number> {
  const args = [
    "run",
    "-A",
    ...(entry.prompts ? [] : ["--no-prompt"]),
    `--config=${CONFIG}`,
    CLI,
    "map",
    `${folder}/tasks.ts`,
    entry.exportName,
    "--input",
    `${folder}/in.jsonl`,
    "--output",
    `${folder}/out.jsonl`,
    "-j",
    "2",
  ];
  const start = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - start;
  const expected = entry.exportName === "succeeds" ? 0 : 1;
  if (output.code !== expected) {
    throw new Error(
      `pool map ${entry.exportName} exited with ${output.code}: ` +
        new TextDecoder().decode(output.stderr),
    );
  }
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (import.meta.main) {
  const lines = option(Deno.args, "--lines", 10_000);
  const runs = option(Deno.args, "--runs", 3);
  const folder = await Deno.makeTempDir({ prefix: "seed_pool_cli_failures_" });
  try {
    await Deno.writeTextFile(`${folder}/tasks.ts`, TASKS);
    await Deno.writeTextFile(
      `${folder}/in.jsonl`,
      Array.from({ length: lines }, (_, i) => `${i}\n`).join(""),
    );
    console.log(`pool map over ${lines} lines, -j 2, median of ${runs} run(s)\n`);
    console.log("| lines that | wall | per line |");
    console.log("|---|---:|---:|");
    for (const entry of CASES) {
      const times: number[] = [];
      for (let run = 0; run < runs; run++) times.push(await runOnce(folder, entry));
      const ms = median(times);
      console.log(
        `| ${entry.label} | ${(ms / 1000).toFixed(2)} s | ${(ms * 1000 / lines).toFixed(0)} µs |`,
      );
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}
