/**
 * The isolation modes every core test runs in. `SEED_POOL_ISOLATION=worker` (or
 * `process`) narrows a run to one mode while debugging.
 */
import type { Isolation } from "../mod.ts";

const only = Deno.env.get("SEED_POOL_ISOLATION") as Isolation | undefined;

/** Each mode, with a name suffix for test names. */
export const ISOLATIONS: readonly Isolation[] = only ? [only] : ["worker", "process"];

/** A test name that says which mode it runs in. */
export function named(name: string, isolation: Isolation): string {
  return isolation === "worker" ? name : `${name} [process]`;
}

/** A URL of a test fixture module. */
export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}
