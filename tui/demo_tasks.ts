/**
 * The tasks of the dashboard's built-in demo: the seed article's Monte Carlo π and squares,
 * work of uneven length, a task that fails on bad input, and one that reads a file it was
 * given no permission for.
 *
 * @module
 */

/**
 * Estimates π from `samples` random points in the unit square (the seed article's example).
 *
 * @example
 * ```ts
 * import { monteCarloPi } from "./demo_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * // 100k samples land within 0.05 of π but for one run in many millions.
 * assert.ok(Math.abs(monteCarloPi(100_000) - Math.PI) < 0.05);
 * ```
 */
export function monteCarloPi(samples: number): number {
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) inside++;
  }
  return (4 * inside) / samples;
}

/**
 * The seed article's first task.
 *
 * @example
 * ```ts
 * import { square } from "./demo_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(square(7), 49);
 * ```
 */
export function square(x: number): number {
  return x * x;
}

/**
 * Stands in for I/O-bound work of uneven length: waits `ms`, then returns it.
 *
 * @example
 * ```ts
 * import { simulateWork } from "./demo_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await simulateWork(10), 10);
 * ```
 */
export async function simulateWork(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}

/**
 * Parses one sensor reading line (`{"sensor": string, "value": number}`); throws on a
 * malformed one — the demo feeds it one now and then.
 *
 * @example
 * ```ts
 * import { parseReading } from "./demo_tasks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseReading('{"sensor":"t1","value":21.5}').value, 21.5);
 * ```
 */
export function parseReading(line: string): { sensor: string; value: number } {
  const reading = JSON.parse(line);
  if (typeof reading?.sensor !== "string" || typeof reading?.value !== "number") {
    throw new TypeError(`Cannot parse reading as it lacks 'sensor' or 'value': ${line}`);
  }
  return reading;
}

/**
 * Reads a file. The demo runs it with no read permission, so it fails with `NotCapable`.
 *
 * @example
 * ```ts ignore
 * import { readSecret } from "./demo_tasks.ts";
 * await readSecret("/etc/hostname");
 * ```
 */
export async function readSecret(path: string): Promise<string> {
  return await Deno.readTextFile(path);
}
