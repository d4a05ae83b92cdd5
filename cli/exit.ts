/**
 * How the CLI ends: its exit codes, and the error that reports a wrong command line.
 *
 * @example
 * ```ts
 * import { EXIT, UsageError } from "./exit.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(EXIT.usage, 2);
 * assert.equal(new UsageError("Cannot run as 'jobs' is missing").name, "UsageError");
 * ```
 *
 * @module
 */

/** Exit codes of the CLI. */
export const EXIT = {
  /** Every call succeeded. */
  ok: 0,
  /** At least one line failed (or `--fail-fast` stopped the run). */
  failed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** Ctrl+C. */
  interrupted: 130,
} as const;

/** A problem with the command's arguments, reported as a usage error (exit code 2). */
export class UsageError extends Error {
  /** Creates the error; `message` says what to fix. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
