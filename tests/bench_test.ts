import assert from "node:assert/strict";
import { NATS_SERVER_PATH } from "./_nats.ts";

const MAIN = new URL("../bench/main.ts", import.meta.url);
const ROOT = new URL("../", import.meta.url);
const PROFILE = new URL("../bench/profile.ts", import.meta.url);

/** Runs a bench script with `args`, as its deno task would, and collects its output. */
function runScript(script: URL, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", decodeURIComponent(script.pathname), ...args],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** Runs `deno task bench` with `args`. */
const bench = (...args: string[]) => runScript(MAIN, args);

Deno.test("bench/main.ts --quick runs every workload and prints a row for each", async () => {
  const output = await bench("--quick");
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `bench failed:\n${stdout}\n${stderr}`);
  const rows = stdout.split("\n").filter((line) => /^\| W\d /.test(line));
  // W8 needs nats-server: without it, its rows say so instead of measuring.
  const w8 = rows.filter((row) => row.startsWith("| W8 "));
  assert.ok(w8.length > 0, `no W8 row in:\n${stdout}`);
  if (NATS_SERVER_PATH === null) {
    assert.ok(w8.every((row) => /n\/a: nats-server is not installed/.test(row)), stdout);
  }
  const measured = ["W1", "W2", "W3", "W4", "W5", "W6", "W7"];
  for (const id of NATS_SERVER_PATH === null ? measured : [...measured, "W8"]) {
    const mine = rows.filter((row) => row.startsWith(`| ${id} `));
    assert.ok(mine.length > 0, `no ${id} row in:\n${stdout}`);
    // The floor of every workload must have been measured, whatever the pool can do yet.
    assert.ok(
      mine.some((row) => /raw floor/.test(row) && !/\bn\/a\b/.test(row)),
      `no measured floor row for ${id} in:\n${stdout}`,
    );
  }
});

Deno.test("bench/main.ts rejects an unknown workload in --only", async () => {
  const output = await bench("--only", "W9");
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /no workload W9/);
});

Deno.test("bench/profile.ts prints its three counters with figures for pool and floor", async () => {
  const output = await runScript(PROFILE, ["--tasks", "300", "--sites", "10"]);
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(
    output.code,
    0,
    `profile failed:\n${stdout}\n${new TextDecoder().decode(output.stderr)}`,
  );
  const figure = (label: string) => {
    const line = stdout.split("\n").find((l) => l.trimStart().startsWith(label));
    assert.ok(line, `no '${label}' line in:\n${stdout}`);
    const value = Number(line.slice(line.indexOf(label) + label.length).trim().split(/\s+/)[0]);
    assert.ok(Number.isFinite(value) && value > 0, `'${label}' has no figure: ${line}`);
    return value;
  };
  for (
    const label of [
      "raw floor, one in flight",
      "pool apply, one in flight",
      "pool applyAsync, pipelined",
    ]
  ) {
    figure(label);
  }
  if (Deno.build.os === "linux") figure("pool apply, size 2");
  // The sampled sites name the pool's own files, so the profile really looked inside it.
  assert.match(stdout, /in all\n(?:.*\n){0,10}.*src\/[\w/]+\.ts:\d+/);
});
