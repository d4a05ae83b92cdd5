/**
 * The guard of issue 10: random scripts of calls (every method, every way an item can end,
 * timeouts, aborts before, while queued and while running, close and terminate at random
 * points, pool options drawn too) run on a real pool in both isolations, and every
 * invariant of the contract is checked after each run (see tests/_model_driver.ts).
 *
 * This is the CI share: a fixed number of runs per isolation. `deno task fuzz` runs the
 * same property for as long as asked. Replay a failure with the seed and path it prints:
 * `FUZZ_SEED=… FUZZ_PATH=… deno test -A tests/model_test.ts`.
 */

import fc from "fast-check";
import { fuzzFor, fuzzOptions, modelProperty } from "./fuzz.ts";
import { ISOLATIONS, named } from "./_isolation.ts";

/** Runs per isolation in CI: process workers start slower, so fewer runs there. */
const CI_RUNS = { worker: 200, process: 120 } as const;

const seconds = Number(Deno.env.get("FUZZ_SECONDS") || 0);

for (const isolation of ISOLATIONS) {
  Deno.test(
    named("Pool keeps its invariants under random scripts of mixed calls", isolation),
    async () => {
      if (seconds > 0) await fuzzFor(isolation, seconds);
      else await fc.assert(modelProperty(isolation, 30), fuzzOptions(CI_RUNS[isolation]));
    },
  );
}
