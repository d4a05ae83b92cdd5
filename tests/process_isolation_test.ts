import assert from "node:assert/strict";
import { Pool, taskModule, TimeoutError, WorkerCrashError } from "../mod.ts";
import { fixture } from "./_isolation.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pidOf = () => Deno.pid;
const spin = () => {
  while (true) { /* a runaway task: never yields */ }
};

/** Whether a process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Waits (bounded) until none of `pids` is alive; returns the survivors. */
async function survivors(pids: number[], withinMs = 5000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(25);
    left = left.filter(alive);
  }
  return left;
}

Deno.test("Pool process isolation: a timeout kills a task stuck in while (true)", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const before = await pool.apply(pidOf);
  await assert.rejects(pool.apply(spin, [], { timeout: 100 }), TimeoutError);
  assert.deepEqual(await survivors([before]), []);
  const after = await pool.apply(pidOf);
  assert.notEqual(after, before);
  assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
});

Deno.test("Pool process isolation: an abort kills a task stuck in while (true)", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const before = await pool.apply(pidOf);
  const controller = new AbortController();
  const stuck = pool.apply(spin, [], { signal: controller.signal });
  await sleep(50);
  controller.abort(new Error("enough"));
  await assert.rejects(stuck, /enough/);
  assert.deepEqual(await survivors([before]), []);
  assert.equal(await pool.apply((x: number) => x * 3, [3]), 9);
});

Deno.test(
  "Pool process isolation: memoryLimitMb turns endless allocation into WorkerCrashError",
  async () => {
    await using pool = new Pool({ size: 2, isolation: "process", memoryLimitMb: 48 });
    const hog = () => {
      const kept: number[][] = [];
      while (true) kept.push(new Array(100_000).fill(kept.length));
    };
    const slowEcho = async (x: string) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return x;
    };
    const [crash, other] = await Promise.allSettled([
      pool.apply(hog),
      pool.apply(slowEcho, ["alive"]),
    ]);
    assert.equal(crash.status, "rejected");
    assert.ok(crash.reason instanceof WorkerCrashError, String(crash.reason));
    assert.match(crash.reason.message, /out of memory/);
    assert.deepEqual(other, { status: "fulfilled", value: "alive" });
    assert.equal(await pool.apply((x: number) => x * 2, [21]), 42);
  },
);

Deno.test("Pool process isolation: terminate() and dispose leave no child process", async () => {
  const pids: number[] = [];
  {
    await using pool = new Pool({ size: 2, isolation: "process" });
    pids.push(
      ...await pool.map(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return Deno.pid;
      }, [1, 2]),
    );
  }
  const stopped = new Pool({ size: 2, isolation: "process" });
  pids.push(await stopped.apply(pidOf));
  stopped.apply(spin).catch(() => {});
  await sleep(50);
  await stopped.terminate();
  // terminate() resolves once the children are reaped: nothing is left, not even a zombie.
  // (Only these pools' own children are checked: with --parallel, other test files share
  // this process and may have process workers of their own right now.)
  const exists = (pid: number) => {
    try {
      Deno.statSync(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  };
  assert.deepEqual(pids.filter(exists), []);
});

/**
 * Starts `fixtures/process_parent.ts` with `flags`, and reads the worker pids it prints as its
 * first line. `done()` waits for the parent to end and closes its output.
 */
async function startParent(flags: string[], args: string[] = []) {
  const parent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      new URL("./fixtures/process_parent.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    line += value;
  }
  const done = async () => {
    await parent.status;
    await reader.cancel();
  };
  return { parent, workers: JSON.parse(line) as Record<string, number>, done };
}

for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
  Deno.test(`Pool process isolation: a parent killed with ${signal} leaves no orphans`, async () => {
    const { parent, workers, done } = await startParent(["-A"]);
    const { idle, busy } = workers as { idle: number; busy: number };
    assert.ok(alive(idle) && alive(busy));
    parent.kill(signal);
    await done();
    assert.deepEqual(await survivors([idle, busy]), []);
  });
}

Deno.test(
  "Pool process isolation: without setpriv an idle worker still ends with its parent",
  async () => {
    // --allow-run for Deno only: the pool cannot use setpriv, so the worker relies on its
    // stdin closing. (A worker stuck in a loop then outlives a killed parent: see README.)
    const { parent, workers, done } = await startParent([
      "--allow-read",
      "--allow-env",
      `--allow-run=${Deno.execPath()}`,
    ], ["--idle-only"]);
    const { idle } = workers as { idle: number };
    parent.kill("SIGKILL");
    await done();
    assert.deepEqual(await survivors([idle]), []);
  },
);

Deno.test("Pool process isolation: a task that calls close() stops right there", async () => {
  await using pool = new Pool({ size: 1, isolation: "process" });
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  await assert.rejects(
    pool.apply((path: string) => {
      (globalThis as unknown as { close(): void }).close();
      Deno.writeTextFileSync(path, "the task ran on after close()");
    }, [marker]),
    WorkerCrashError,
  );
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
  assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
});

const stdoutWriter = taskModule<typeof import("./fixtures/stdout_writer.ts")>(
  fixture("stdout_writer.ts"),
);

Deno.test(
  "Pool process isolation: a task that writes text to fd 1 fails with WorkerCrashError, and the pool goes on",
  async () => {
    await using pool = new Pool({ size: 1, isolation: "process" });
    const before = await pool.apply(pidOf);
    const inline = async (a: number, b: number) => {
      const { writeSync } = await import("node:fs");
      writeSync(1, new TextEncoder().encode(`sum ${a + b}\n`));
      return a + b;
    };
    const error = await pool.apply(inline, [5, 7]).catch((e) => e);
    assert.ok(error instanceof WorkerCrashError, String(error));
    assert.match(error.message, /wrote to its stdout outside the pool's frames/);
    assert.match(error.message, /"sum 12\\n"/);
    assert.match(error.message, /console\.log/);
    assert.deepEqual(await survivors([before]), []);
    // The next calls work, on a fresh worker, from a task module too.
    assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
    await assert.rejects(pool.apply(stdoutWriter.noisySum, [1, 2]), WorkerCrashError);
    await assert.rejects(pool.apply(stdoutWriter.strayNewline), /"\\n"/);
    assert.deepEqual(await pool.map((x: number) => x * 2, [1, 2, 3]), [2, 4, 6]);
  },
);

Deno.test(
  "Pool process isolation: a map whose items write to fd 1 fails with WorkerCrashError, and the pool goes on",
  async () => {
    await using pool = new Pool({ size: 2, isolation: "process" });
    await assert.rejects(
      pool.starmap(stdoutWriter.noisySum, [[1, 2], [3, 4], [5, 6], [7, 8]]),
      WorkerCrashError,
    );
    assert.deepEqual(await pool.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]]), [
      3,
      7,
    ]);
  },
);
