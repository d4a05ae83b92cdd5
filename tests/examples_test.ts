/**
 * Runs every program in examples/ as a real subprocess, with the permissions its README
 * command gives, and checks what it prints.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
// fast-png, not jimp: jimp's typings pull in an old @types/node that would clash with
// Deno's own types in the test program (examples/ are type-checked on their own).
import { decode } from "fast-png";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLES_DIR = new URL("../examples/", import.meta.url);

/** Modules that examples load into workers: not programs of their own. */
const TASK_MODULES = new Set(["image_tasks.ts", "tasks.ts"]);

/** The examples that have a test below, filled in as the tests are defined. */
const tested = new Set<string>();

interface Run {
  readonly stdout: string;
  readonly lines: string[];
}

/** Runs `examples/<name>` in a Deno subprocess from the repository root; fails with stderr. */
async function runExample(name: string, flags: string[], args: string[] = []): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `examples/${name}`, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const text = decoder.decode(stdout);
  assert.equal(code, 0, `examples/${name} exited with ${code}:\n${decoder.decode(stderr)}`);
  return { stdout: text, lines: text.trimEnd().split("\n") };
}

/**
 * Defines a test that runs `examples/<name>` with `flags` (the flags of the README's command
 * for it) and hands its output to `check`.
 */
function exampleTest(
  name: string,
  flags: string[],
  check: (run: Run) => void | Promise<void>,
): void {
  tested.add(name);
  Deno.test(`examples/${name} runs and prints what the article's example prints`, async () => {
    await check(await runExample(name, flags));
  });
}

exampleTest("square.ts", ["--allow-read"], ({ stdout }) => {
  // Deno's console.log lays out the longer list in columns, so compare the whole output.
  assert.equal(
    stdout,
    "map: [ 1, 4, 9, 16, 25 ]\n" +
      "mapAsync: [\n   0,  1,  4,  9, 16,\n  25, 36, 49, 64, 81\n]\n",
  );
});

exampleTest("apply_async_callback.ts", ["--allow-read"], ({ lines }) => {
  // Callbacks run in completion order, so compare as sets; join's line must come last.
  const last = lines.pop();
  assert.equal(last, "join() returned: all 10 callbacks have run");
  const expected = Array.from({ length: 10 }, (_, i) => `callback got ${i * i}`);
  assert.deepEqual([...lines].sort(), expected.sort());
});

exampleTest("error_callback.ts", ["--allow-read"], ({ lines }) => {
  const errors = lines.filter((line) => line.startsWith("errorCallback"));
  assert.deepEqual(errors, [
    "errorCallback caught TaskError: Bad value: 3 (thrown as RangeError)",
  ]);
  const results = lines.filter((line) => !line.startsWith("errorCallback")).sort();
  assert.deepEqual(results, [
    "riskyOperation(0) = 0",
    "riskyOperation(1) = 2",
    "riskyOperation(2) = 4",
    "riskyOperation(4) = 8",
  ]);
});

exampleTest("chunksize.ts", ["--allow-read"], ({ lines }) => {
  // The sum of i² for i < 10,000 is 9999 × 10000 × 19999 / 6.
  assert.deepEqual(lines, [
    "10000 results in chunks of 100: first 0, last 99980001, sum 333283335000",
  ]);
});

exampleTest("monte_carlo_pi.ts", ["--allow-read"], ({ lines }) => {
  const match = lines[0]?.match(/^π ≈ (\d\.\d{5}) from 4 tasks × 1000000 darts$/);
  assert.ok(match, `unexpected output: ${lines[0]}`);
  const estimate = Number(match[1]);
  assert.ok(Math.abs(estimate - Math.PI) < 0.1, `π estimate ${estimate} is off by more than 0.1`);
});

exampleTest("main_guard.ts", ["--allow-read"], ({ lines }) => {
  // Printed once: the workers that import main_guard.ts to find `cube` skip the guarded code.
  assert.deepEqual(lines, ["[ 1, 8, 27, 64, 125 ]"]);
});

exampleTest("task_module.ts", ["--allow-read"], ({ lines }) => {
  assert.deepEqual(lines, [
    "apply(square, [3]): 9",
    "map(square): [ 1, 4, 9, 16 ]",
    "starmap(add): [ 3, 7, 11 ]",
    'wordCounts: Map(4) { "the" => 2, "cat" => 1, "and" => 1, "hat" => 1 }',
    "delayed: done",
  ]);
});

const IMAGE_FLAGS = ["--allow-read", "--allow-write", "--allow-env"];

exampleTest("image_blur.ts", IMAGE_FLAGS, async ({ lines }) => {
  const inputDir = lines[0]?.match(/^input folder: (.+)$/)?.[1];
  assert.ok(inputDir, `no input folder in: ${lines[0]}`);
  try {
    await assertBlurred(inputDir, lines);
    // Given a folder, it blurs the images in it (and skips its own blurred/ folder).
    const again = await runExample("image_blur.ts", IMAGE_FLAGS, [inputDir]);
    await assertBlurred(inputDir, again.lines);
  } finally {
    await Deno.remove(inputDir, { recursive: true });
  }
});

/** Checks image_blur.ts's report, and that each output is a blurred PNG of its input. */
async function assertBlurred(inputDir: string, lines: string[]): Promise<void> {
  assert.equal(lines[0], `input folder: ${inputDir}`);
  assert.equal(lines[1], "blurred 4 images (Gaussian, radius 2):");
  const outputs = lines.slice(2);
  assert.equal(outputs.length, 4, lines.join("\n"));
  for (const [i, line] of outputs.entries()) {
    const name = `sample-${i + 1}.png`;
    assert.equal(line, `${inputDir}/blurred/${name} (64×64)`);
    const outBytes = await Deno.readFile(`${inputDir}/blurred/${name}`);
    assert.deepEqual([...outBytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG");
    const input = decode(await Deno.readFile(`${inputDir}/${name}`));
    const output = decode(outBytes);
    assert.deepEqual([output.width, output.height], [input.width, input.height]);
    assert.notDeepEqual([...output.data], [...input.data], `${name} was not blurred`);
  }
}

Deno.test("examples/ has a test for every example program", async () => {
  const programs: string[] = [];
  for await (const entry of Deno.readDir(EXAMPLES_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !TASK_MODULES.has(entry.name)) {
      programs.push(entry.name);
    }
  }
  const untested = programs.filter((name) => !tested.has(name));
  assert.deepEqual(untested, [], "add an exampleTest() for these examples");
  const missing = [...tested].filter((name) => !programs.includes(name));
  assert.deepEqual(missing, [], "these tested examples no longer exist");
});
