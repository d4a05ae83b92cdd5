import assert from "node:assert/strict";

const MAIN = new URL("../bench/main.ts", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/** Runs `deno task bench` with `args`, as a user would, and collects its output. */
function bench(...args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", decodeURIComponent(MAIN.pathname), ...args],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("bench/main.ts --quick runs every workload and prints a row for each", async () => {
  const output = await bench("--quick");
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `bench failed:\n${stdout}\n${stderr}`);
  const rows = stdout.split("\n").filter((line) => /^\| W\d /.test(line));
  for (const id of ["W1", "W2", "W3", "W4", "W5", "W6"]) {
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
