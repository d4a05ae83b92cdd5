/**
 * What a failing task sends back: its error's stack is the task's own, captured on a
 * shallow stack (the worker runs tasks from a microtask, not from inside the message event),
 * which also makes a failure cheap: Deno formats a stack at ~7 µs a frame.
 */

import assert from "node:assert/strict";
import { Pool, TaskError, taskModule } from "../mod.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const fails = taskModule<typeof import("./fixtures/fails.ts")>(fixture("fails.ts"));

for (const isolation of ISOLATIONS) {
  Deno.test(
    named(
      "TaskError.cause.stack holds the task's frames, not the worker's event dispatch",
      isolation,
    ),
    async () => {
      await using pool = new Pool({ size: 1, isolation });
      // A lone call and one in a batch: both run from the worker's queue.
      const errors = await Promise.all(
        [1, 2, 3].map((x) => pool.apply(fails.failIfOdd, [x]).then(() => null, (error) => error)),
      );
      for (const error of [errors[0], errors[2]]) {
        assert.ok(error instanceof TaskError, String(error));
        const stack = String((error.cause as Error).stack);
        assert.match(stack, /^RangeError: odd input/);
        assert.match(stack, /at failIfOdd \(.*fixtures\/fails\.ts/);
        assert.doesNotMatch(stack, /EventListeners|dispatch \(|onmessage/, stack);
      }
      assert.equal(errors[1], null);
    },
  );
}
