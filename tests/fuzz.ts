/**
 * The model-based test's property, and `deno task fuzz`, which runs it for as long as asked:
 *
 * ```sh
 * deno task fuzz --seconds 600                  # both isolations, half the time each
 * deno task fuzz --seconds 60 --isolation process
 * FUZZ_SEED=123 FUZZ_PATH="4:1:0" deno task fuzz # replay what a failure printed
 * deno task fuzz --survey 200                   # list every invariant broken in 200 scripts
 * ```
 *
 * Environment (the CI share in tests/model_test.ts reads it too): `FUZZ_SEED`, `FUZZ_PATH`
 * (replay), `FUZZ_RUNS` (runs per isolation), `FUZZ_SECONDS` (run for this long per isolation
 * instead), `FUZZ_STALL_MS` (no progress for this long is a hang; default 5000),
 * `FUZZ_SHRINK_SECONDS` (time spent shrinking a failure; default 120, 30 in CI), `FUZZ_IGNORE`
 * (comma-separated parts of invariant names not to fail on, to find what hides behind one),
 * `FUZZ_ONLY` (fail only on these, so that shrinking keeps to one defect).
 *
 * @module
 */

import fc from "fast-check";
import { parseArgs } from "node:util";
import type { Isolation } from "../mod.ts";
import { type Script, scripts } from "./_model.ts";
import { InvariantViolation } from "./_model_checks.ts";
import { runScript } from "./_model_driver.ts";

function numberFromEnv(name: string): number | undefined {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    throw new TypeError(`Cannot fuzz as ${name} is not a number: ${text}`);
  }
  return value;
}

function listFromEnv(name: string): string[] | undefined {
  const text = Deno.env.get(name);
  return text ? text.split(",").filter(Boolean) : undefined;
}

/** The property: a generated script runs on a real pool and breaks no invariant. */
export function modelProperty(
  isolation: Isolation,
  shrinkSeconds = 120,
): fc.IAsyncProperty<[Script]> {
  const stallMs = numberFromEnv("FUZZ_STALL_MS") ?? 5_000;
  const shrinkMs = (numberFromEnv("FUZZ_SHRINK_SECONDS") ?? shrinkSeconds) * 1000;
  const ignore = listFromEnv("FUZZ_IGNORE") ?? [];
  const only = listFromEnv("FUZZ_ONLY");
  let failedAt: number | null = null;
  return fc.asyncProperty(scripts(), async (script) => {
    // Past the shrinking budget every candidate passes: fast-check reports the smallest
    // failure found so far instead of shrinking for an hour through hangs.
    if (failedAt !== null && performance.now() - failedAt > shrinkMs) return;
    try {
      await runScript(script, isolation, {
        stallMs,
        hardMs: stallMs * 6,
        ignore,
        ...(only && { only }),
      });
    } catch (error) {
      failedAt ??= performance.now();
      throw error;
    }
  });
}

/** fast-check's parameters: `runs` unless the environment says otherwise, and any replay. */
export function fuzzOptions(runs: number): fc.Parameters<[Script]> {
  const seed = numberFromEnv("FUZZ_SEED");
  const path = Deno.env.get("FUZZ_PATH");
  return {
    numRuns: numberFromEnv("FUZZ_RUNS") ?? runs,
    ...(seed !== undefined && { seed }),
    ...(path && { path }),
  };
}

/**
 * Runs the property in rounds of `roundRuns` until `seconds` have passed; each round has a
 * fresh seed, which fast-check prints on failure.
 */
export async function fuzzFor(isolation: Isolation, seconds: number, roundRuns = 20) {
  const until = performance.now() + seconds * 1000;
  let seed = numberFromEnv("FUZZ_SEED") ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  let runs = 0;
  while (performance.now() < until) {
    await fc.assert(modelProperty(isolation), { numRuns: roundRuns, seed });
    runs += roundRuns;
    seed = (seed * 48271 + 1) | 0;
  }
  return runs;
}

/**
 * Runs `runs` scripts without stopping at a failure and lists each invariant broken: how
 * often, the smallest script that broke it (replay it with the seed and path shown), and
 * a few distinct examples, each after the path of its script in brackets.
 */
export async function survey(isolation: Isolation, runs: number): Promise<void> {
  const seed = numberFromEnv("FUZZ_SEED") ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const stallMs = numberFromEnv("FUZZ_STALL_MS") ?? 5_000;
  type Found = { count: number; size: number; path: number; shapes: Map<string, string> };
  const found = new Map<string, Found>();
  const samples = fc.sample(scripts(), { seed, numRuns: runs });
  const times: number[] = [];
  const cleanTimes: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const script = samples[i]!;
    const started = performance.now();
    try {
      await runScript(script, isolation, { stallMs, hardMs: stallMs * 6 });
      cleanTimes.push(performance.now() - started);
    } catch (error) {
      if (!(error instanceof InvariantViolation)) throw error;
      const size = script.actions.length +
        script.actions.reduce((n, a) => n + (a.kind === "call" ? a.items.length : 0), 0);
      for (const [invariant, seen] of error.broken) {
        const known = found.get(invariant) ?? { count: 0, size, path: i, shapes: new Map() };
        known.count++;
        if (size < known.size) Object.assign(known, { size, path: i });
        for (const detail of seen) {
          // Distinct kinds of failure, told apart by their text without numbers.
          const shape = detail.replace(/\d+/g, "#").replace(/call #[^:]*:/, "");
          if (!known.shapes.has(shape) && known.shapes.size < 8) {
            known.shapes.set(shape, `[${i}] ${detail}`);
          }
        }
        found.set(invariant, known);
      }
    } finally {
      times.push(performance.now() - started);
    }
  }
  const spread = (list: number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0);
    return `p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`;
  };
  console.log(
    `${isolation}: ${(times.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s in all; per ` +
      `script ${spread(times)}; ${cleanTimes.length} scripts broke nothing: ${spread(cleanTimes)}`,
  );
  console.log(`${isolation}: ${runs} scripts (seed ${seed}), ${found.size} invariant(s) broken`);
  for (const [invariant, { count, path, shapes }] of found) {
    console.log(`\n== ${invariant}: in ${count} of ${runs} scripts`);
    console.log(`  smallest: FUZZ_SEED=${seed} FUZZ_PATH=${path} ${fc.stringify(samples[path])}`);
    for (const example of shapes.values()) console.log(`    ${example}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string" },
      isolation: { type: "string" },
      runs: { type: "string" },
      survey: { type: "string" },
    },
  });
  const isolations: Isolation[] = values.isolation === "worker" || values.isolation === "process"
    ? [values.isolation]
    : ["worker", "process"];
  const seconds = Number(values.seconds ?? numberFromEnv("FUZZ_SECONDS") ?? 60);
  for (const isolation of isolations) {
    const started = performance.now();
    if (values.survey !== undefined) {
      await survey(isolation, Number(values.survey));
      continue;
    }
    if (values.runs !== undefined || Deno.env.get("FUZZ_PATH")) {
      await fc.assert(modelProperty(isolation), fuzzOptions(Number(values.runs ?? 1)));
      console.log(`${isolation}: ${values.runs ?? 1} runs, no invariant broken`);
      continue;
    }
    const runs = await fuzzFor(isolation, seconds / isolations.length);
    const took = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${isolation}: ${runs} runs in ${took} s, no invariant broken`);
  }
}
