/**
 * End-to-end tests of the `pool` CLI: each runs the real CLI as a subprocess
 * (`deno run -A cli/main.ts …`) from the repository root, so the project's deno.json (and
 * its `worker-options` unstable flag) applies, as with `deno task pool`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const TASKS = fileURLToPath(new URL("./fixtures/cli_tasks.ts", import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end, with `stdin` as its input (nothing when left out). */
async function runCli(args: string[], stdin?: string): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

function records(stdout: string): Record<string, unknown>[] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** Whether the pool can run process isolation yet (another engineer builds it). */
async function processIsolationAvailable(): Promise<boolean> {
  const probe = await runCli(["apply", TASKS, "square", "3", "--isolation", "process"]);
  return probe.code === 0 && probe.stdout === "9\n";
}

const processIsolation = await processIsolationAvailable();
if (!processIsolation) {
  console.log(
    "cli_test: skipping the --isolation process test: the pool cannot run process " +
      "isolation yet (`pool apply --isolation process` failed)",
  );
}

Deno.test("pool map writes one record per line, in input order, from stdin to stdout", async () => {
  // The first line takes longest, so completion order differs from input order.
  const run = await runCli(["map", TASKS, "sleepThen", "-j", "3"], "300\n100\n0\n");
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(records(run.stdout), [{ result: 300 }, { result: 100 }, { result: 0 }]);
  assert.equal(run.stderr, "", "no progress line when stderr is not a terminal");
});

Deno.test("pool map --unordered writes every record with its line number", async () => {
  const run = await runCli(["map", TASKS, "square", "--unordered"], "1\n2\n\n3\n");
  assert.equal(run.code, 0, run.stderr);
  const byLine = records(run.stdout).sort((a, b) => (a.line as number) - (b.line as number));
  assert.deepEqual(byLine, [
    { line: 1, result: 1 },
    { line: 2, result: 4 },
    { line: 4, result: 9 },
  ]);
});

Deno.test("pool map writes a failing call and a malformed line as error records and goes on", async () => {
  const run = await runCli(["map", TASKS, "square"], '2\n-3\n{"oops"\n\n4\n');
  assert.equal(run.code, 1);
  const out = records(run.stdout);
  assert.equal(out.length, 4);
  assert.deepEqual(out[0], { result: 4 });
  assert.deepEqual(out[1], {
    error: { name: "RangeError", message: "negative input: -3" },
    input: -3,
    line: 2,
  });
  const malformed = out[2] as { error: { name: string; message: string }; input: unknown };
  assert.equal(malformed.error.name, "SyntaxError");
  assert.match(malformed.error.message, /^Line 3 is not valid JSON/);
  assert.equal(malformed.input, '{"oops"');
  assert.equal((out[2] as { line: number }).line, 3);
  assert.deepEqual(out[3], { result: 16 }, "the blank line 4 is not input; line 5 is");
  assert.match(run.stderr, /2 lines failed/);
});

Deno.test("pool map --fail-fast stops at the first failure with exit code 1", async () => {
  const input = ["1", "-2", ...Array.from({ length: 50 }, (_, i) => String(i))].join("\n");
  const run = await runCli(["map", TASKS, "square", "--fail-fast"], input);
  assert.equal(run.code, 1);
  const out = records(run.stdout);
  assert.deepEqual(out, [
    { result: 1 },
    { error: { name: "RangeError", message: "negative input: -2" }, input: -2, line: 2 },
  ]);
  assert.match(run.stderr, /stopped at the first failure \(--fail-fast\), line 2: RangeError/);
});

Deno.test("pool map gives a task no permission unless a flag grants it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = `${dir}/secret.txt`;
    await Deno.writeTextFile(secret, "classified");
    // The task may not even read its own module: it loads, but reading it is denied.
    const input = `${JSON.stringify(secret)}\n${JSON.stringify(TASKS)}\n`;

    const denied = await runCli(["map", TASKS, "readText"], input);
    assert.equal(denied.code, 1);
    const [deniedSecret, deniedModule] = records(denied.stdout) as {
      error: { name: string; message: string };
    }[];
    assert.equal(deniedSecret!.error.name, "NotCapable");
    assert.match(deniedSecret!.error.message, /Requires read access/);
    assert.equal(deniedModule!.error.name, "NotCapable");

    const granted = await runCli(["map", TASKS, "readText", `--allow-read=${dir}`], input);
    assert.equal(granted.code, 1);
    const [readSecret, stillDenied] = records(granted.stdout);
    assert.deepEqual(readSecret, { result: "classified" });
    assert.equal((stillDenied as { error: { name: string } }).error.name, "NotCapable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pool map reads --input and writes --output files, and --skip passes over lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/in.jsonl`, "1\n2\n3\n4\n");
    const run = await runCli([
      "map",
      TASKS,
      "square",
      "--input",
      `${dir}/in.jsonl`,
      "--output",
      `${dir}/out.jsonl`,
      "--skip",
      "2",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(await Deno.readTextFile(`${dir}/out.jsonl`), '{"result":9}\n{"result":16}\n');

    const failing = await runCli(["map", TASKS, "square", "--skip", "1", "--unordered"], "x\n-1\n");
    assert.deepEqual(records(failing.stdout), [{
      error: { name: "RangeError", message: "negative input: -1" },
      input: -1,
      line: 2,
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pool map run by deno task from the user's own folder resolves every path there", async () => {
  const folder = await Deno.makeTempDir({ prefix: "seed_pool_user_" });
  try {
    await Deno.mkdir(`${folder}/data`);
    await Deno.writeTextFile(`${folder}/data/a.txt`, "alpha");
    await Deno.writeTextFile(
      `${folder}/tasks.ts`,
      // A relative path inside the task too: it means the user's folder, as the flags do.
      "export const readNote = (name: string) => Deno.readTextFileSync(`./data/${name}`);\n",
    );
    await Deno.writeTextFile(`${folder}/in.jsonl`, '"a.txt"\n');
    // deno task keeps an INIT_CWD it inherits: this run must look like one from a shell.
    const env = Deno.env.toObject();
    delete env.INIT_CWD;
    for (const isolation of ["worker", "process"]) {
      const output = `out_${isolation}.jsonl`;
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "--quiet",
          "--config",
          `${ROOT}deno.json`,
          "pool",
          "map",
          "./tasks.ts",
          "readNote",
          "--input",
          "in.jsonl",
          "--output",
          output,
          "--allow-read=./data",
          "--isolation",
          isolation,
        ],
        cwd: folder,
        clearEnv: true,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, stderr);
      assert.equal(await Deno.readTextFile(`${folder}/${output}`), '{"result":"alpha"}\n');
      await assert.rejects(Deno.stat(`${ROOT}${output}`), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("pool map --spread passes each line's array as the arguments", async () => {
  const run = await runCli(["map", TASKS, "add", "--spread"], "[1, 2, 3]\n[]\n5\n");
  assert.equal(run.code, 1);
  const out = records(run.stdout);
  assert.deepEqual(out.slice(0, 2), [{ result: 6 }, { result: 0 }]);
  assert.match((out[2] as { error: { message: string } }).error.message, /JSON array/);
});

Deno.test("pool map --chunksize sends lines in chunks; a failure fails its chunk", async () => {
  const run = await runCli(["map", TASKS, "square", "--chunksize", "2"], "1\n2\n-3\n4\n5\n");
  assert.equal(run.code, 1);
  const out = records(run.stdout);
  assert.deepEqual(out[0], { result: 1 });
  assert.deepEqual(out[1], { result: 4 });
  assert.equal((out[2] as { line: number }).line, 3);
  assert.equal((out[3] as { line: number; input: number }).input, 4, "same chunk as line 3");
  assert.deepEqual(out[4], { result: 25 });
});

Deno.test("pool map --timeout fails a call that runs too long with TimeoutError", async () => {
  const run = await runCli(["map", TASKS, "sleepThen", "--timeout", "300"], "0\n60000\n");
  assert.equal(run.code, 1);
  const out = records(run.stdout);
  assert.deepEqual(out[0], { result: 0 });
  assert.equal((out[1] as { error: { name: string } }).error.name, "TimeoutError");
});

Deno.test("pool map --timeout counts a line's own run, not its worker's start nor the module's import", async () => {
  // The module takes 400 ms to import and its function is instant: every line fits in 200 ms.
  const slowImport = fileURLToPath(new URL("./fixtures/slow_import.ts", import.meta.url));
  const run = await runCli(
    ["map", slowImport, "echo", "--timeout", "200", "-j", "2"],
    "1\n2\n3\n4\n5\n6\n",
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(records(run.stdout), [1, 2, 3, 4, 5, 6].map((result) => ({ result })));
});

Deno.test("pool map --timeout does not count the start of a worker that replaced a timed-out one", async () => {
  // The first line hangs and times out; its worker is replaced, and the new one takes
  // 400 ms to import the module: the lines after must not time out for that.
  const slowImport = fileURLToPath(new URL("./fixtures/slow_import.ts", import.meta.url));
  const run = await runCli(
    ["map", slowImport, "echoOrHang", "--timeout", "200", "-j", "1"],
    '"hang"\n1\n2\n',
  );
  const out = records(run.stdout);
  assert.equal((out[0] as { error: { name: string } }).error.name, "TimeoutError", run.stdout);
  assert.deepEqual(out.slice(1), [{ result: 1 }, { result: 2 }], run.stdout + run.stderr);
});

Deno.test("pool map and apply with a wrong export name: one usage error naming the exports, before any input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/out.jsonl`, "kept\n");
    const map = await runCli(
      ["map", TASKS, "squaree", "--output", `${dir}/out.jsonl`],
      "1\n2\n3\n",
    );
    assert.equal(map.code, 2, map.stderr);
    assert.equal(map.stdout, "");
    const lines = map.stderr.trim().split("\n");
    assert.equal(lines.length, 1, map.stderr);
    assert.match(
      lines[0]!,
      /'squaree'.*no such export \(its exported functions: add, .*readText, sleepThen, square\)$/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/out.jsonl`), "kept\n", "the output is untouched");

    const apply = await runCli(["apply", TASKS, "squaree", "3"]);
    assert.equal(apply.code, 2, apply.stderr);
    assert.match(apply.stderr, /'squaree'.*no such export.*square/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pool map with a module that fails to load says so once, and writes no record", async () => {
  const broken = fileURLToPath(new URL("./fixtures/broken_module.ts", import.meta.url));
  const run = await runCli(["map", broken, "anything"], "1\n2\n3\n");
  assert.equal(run.code, 1);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /^pool map: Cannot load task module .*broken on purpose\n$/);
});

Deno.test("deno task pool runs tasks with prompts off: a denied access is refused, not recorded", async () => {
  // With prompts on, Deno would ask a terminal, and without one it records each refusal in
  // a list every later check scans: 10,000 denied lines took 10 s instead of 1.5 s.
  const env = Deno.env.toObject();
  delete env.INIT_CWD;
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "pool", "apply", TASKS, "deniedReadState", '"/no/such/file"'],
    cwd: ROOT,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, stderr);
  assert.equal(new TextDecoder().decode(run.stdout), '"NotCapable prompt"\n');
});

Deno.test("pool map stops cleanly on Ctrl+C and says how to resume with --skip", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = 100;
    await Deno.writeTextFile(`${dir}/in.jsonl`, "20\n".repeat(lines));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "map", TASKS, "sleepThen", "-i", `${dir}/in.jsonl`, "-j", "2"],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderrText = new Response(child.stderr).text();
    // Interrupt once the first records are out (the signal handler is installed by then).
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let stdout = decoder.decode((await reader.read()).value, { stream: true });
    child.kill("SIGINT");
    for (let step = await reader.read(); !step.done; step = await reader.read()) {
      stdout += decoder.decode(step.value, { stream: true });
    }
    const { code } = await child.status;
    const stderr = await stderrText;
    assert.equal(code, 130, stderr);
    const skip = Number(/--skip (\d+)/.exec(stderr)?.[1]);
    const written = records(stdout);
    assert.ok(written.length >= 1 && written.length < lines, `${written.length} records`);
    assert.equal(skip, written.length, "every line up to --skip is written, nothing else");
    assert.ok(written.every((record) => record.result === 20));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pool apply runs one call and prints its result", async () => {
  const ok = await runCli(["apply", TASKS, "add", "1", "-2", "3.5"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, "2.5\n");

  const failed = await runCli(["apply", TASKS, "square", "-4"]);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  assert.match(failed.stderr, /RangeError: negative input: -4/);

  const missing = await runCli(["apply", TASKS, "noSuchExport", "1"]);
  assert.equal(missing.code, 2, "a wrong export name is a usage error");
  assert.match(missing.stderr, /noSuchExport/);
});

Deno.test("pool exits with code 2 for usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [["map", TASKS], /missing required argument 'export'/],
    [["map", TASKS, "square", "-j", "0"], /--jobs must be a positive integer/],
    [["map", TASKS, "square", "--no-such-flag"], /unknown option '--no-such-flag'/],
    [["map", TASKS, "square", "--isolation", "thread"], /--isolation/],
    [["map", "./no/such/module.ts", "square"], /Cannot find task module/],
    [["map", TASKS, "square", "--input", "/no/such/input.jsonl"], /Cannot open --input/],
    [["map", TASKS, "square", "--allow-read="], /lists no PATH/],
    [["apply", TASKS, "square", "twelve"], /argument 1 \(twelve\) as it is not JSON/],
    [["frobnicate"], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const run = await runCli(args, "");
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});

Deno.test("pool --help lists the permission flags, and each command's help has examples", async () => {
  const root = await runCli(["--help"]);
  assert.equal(root.code, 0);
  for (const kind of ["read", "write", "net", "env", "run", "ffi", "sys"]) {
    assert.match(root.stdout, new RegExp(`--allow-${kind}\\[=`));
  }
  assert.match(root.stdout, /none by default/);

  const map = await runCli(["map", "--help"]);
  assert.equal(map.code, 0);
  assert.match(map.stdout, /Examples:\n/);
  assert.match(map.stdout, /--allow-net=/);
  assert.match(map.stdout, /Exit code: 0 if every line succeeded/);

  const apply = await runCli(["apply", "--help"]);
  assert.equal(apply.code, 0);
  assert.match(apply.stdout, /Examples:\n\s+pool apply/);
});

Deno.test({
  name: "pool map --isolation process runs each call in a subprocess with the same permissions",
  ignore: !processIsolation,
  fn: async () => {
    const run = await runCli(
      ["map", TASKS, "readText", "--isolation", "process"],
      `${JSON.stringify(TASKS)}\n`,
    );
    assert.equal(run.code, 1);
    assert.equal((records(run.stdout)[0] as { error: { name: string } }).error.name, "NotCapable");
    const squares = await runCli(["map", TASKS, "square", "--isolation", "process"], "3\n");
    assert.deepEqual(records(squares.stdout), [{ result: 9 }]);
  },
});

Deno.test("pool map streams a large input through in flat memory", async () => {
  // 200,000 lines of ~1 KB: about 200 MB in and out. Held in memory, the input alone (text
  // plus parsed values) would take far more than the bound; streamed, the CLI stays near its
  // size for a tiny input (the bound leaves room for the workers and the in-flight window).
  const LINES = 200_000;
  const BOUND_MIB = 450;
  const pad = "x".repeat(1000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "map", TASKS, "identity", "-j", "2"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let peakKib = 0;
  const readPeak = async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      peakKib = Math.max(peakKib, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // the process has just exited
    }
  };
  const sampler = setInterval(readPeak, 100);

  const feeding = (async () => {
    const writer = child.stdin.getWriter();
    const encoder = new TextEncoder();
    for (let start = 0; start < LINES; start += 1000) {
      let text = "";
      for (let i = start; i < start + 1000; i++) text += `{"i":${i},"pad":"${pad}"}\n`;
      await writer.write(encoder.encode(text));
    }
    await writer.close();
  })();

  let lines = 0;
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) lines++;
    tail = (tail + text).slice(-2000);
    await readPeak();
  }
  await feeding;
  const status = await child.status;
  clearInterval(sampler);
  const stderr = decoder.decode(await new Response(child.stderr).arrayBuffer());

  assert.equal(status.code, 0, stderr);
  assert.equal(lines, LINES);
  const last = JSON.parse(tail.trimEnd().split("\n").at(-1)!) as { result: { i: number } };
  assert.equal(last.result.i, LINES - 1, "input order kept to the end");
  assert.ok(peakKib > 0, "peak memory was read from /proc");
  assert.ok(
    peakKib / 1024 < BOUND_MIB,
    `peak RSS ${(peakKib / 1024).toFixed(0)} MiB must stay under ${BOUND_MIB} MiB`,
  );
});
