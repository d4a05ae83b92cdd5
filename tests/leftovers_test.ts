import assert from "node:assert/strict";
import { Pool, taskModule, WorkerCrashError } from "../mod.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const slowImport = taskModule<typeof import("./fixtures/slow_import.ts")>(
  fixture("slow_import.ts"),
);
const throwsAtImport = taskModule<typeof import("./fixtures/throws_at_import.ts")>(
  fixture("throws_at_import.ts"),
);

/** Finishes at once, leaving behind a timer that throws 50 ms later. */
function leaky(): string {
  setTimeout(() => {
    throw new Error("late boom");
  }, 50);
  return "leaky done";
}

/** The `error` of every `workerexit` event of `pool`, as they come. */
function exitErrors(pool: Pool): string[] {
  const errors: string[] = [];
  pool.addEventListener("workerexit", (event) => {
    if (event.detail.error !== undefined) errors.push(event.detail.error);
  });
  return errors;
}

for (const isolation of ISOLATIONS) {
  Deno.test(
    named(
      "Pool: a timer left behind that throws between tasks fails no task that had not started",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const errors = exitErrors(pool);
      assert.equal(await pool.apply(leaky), "leaky done");
      // The worker is still importing this task's module when the timer throws (the
      // module's own timer is due later): the task had not started, so it runs elsewhere.
      assert.equal(await pool.apply(slowImport.echo, ["innocent"]), "innocent");
      assert.equal(errors.length, 1);
      assert.match(
        errors[0]!,
        /A timer that task 'leaky' \(task \d+\) left behind after it finished threw: late boom/,
      );
    },
  );

  Deno.test(
    named(
      "Pool: a timer left behind that throws during another task names the task that set it",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      assert.equal(await pool.apply(leaky), "leaky done");
      const running = () => new Promise((resolve) => setTimeout(() => resolve("late"), 300));
      const error = await pool.apply(running).catch((e) => e);
      // It had started (it may have done half its work), so it is not run again behind the
      // caller's back; its error says whose timer it was.
      assert.ok(error instanceof WorkerCrashError, String(error));
      assert.match(
        error.message,
        /timer that task 'leaky' \(task \d+\) left behind after it finished threw: late boom/,
      );
      assert.equal(await pool.apply((x: number) => x * 2, [21]), 42);
    },
  );

  Deno.test(
    named(
      "Pool: a task whose worker keeps dying between tasks is put back once, then fails",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      await assert.rejects(pool.apply(throwsAtImport.never), (error) => {
        assert.ok(error instanceof WorkerCrashError, String(error));
        assert.match(error.message, /thrown by the module's own timer/);
        return true;
      });
      assert.equal(await pool.apply((x: number) => x + 1, [1]), 2);
    },
  );

  Deno.test(
    named("Pool: a task's own timer that throws while it runs still fails that task", isolation),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      const selfInflicted = () => {
        setTimeout(() => {
          throw new Error("mine");
        }, 10);
        return new Promise(() => {});
      };
      const error = await pool.apply(selfInflicted).catch((e) => e);
      assert.ok(error instanceof WorkerCrashError, String(error));
      assert.match(error.message, /mine/);
      assert.doesNotMatch(error.message, /left behind/);
    },
  );
}
