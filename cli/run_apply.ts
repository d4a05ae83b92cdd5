/**
 * `pool apply`: one call of a task module's export, under exactly the given permissions,
 * its result printed as JSON.
 *
 * @module
 */

import type { Isolation, Permissions } from "../mod.ts";
import type { CliIo } from "./io.ts";
import { errorInfo, toJson } from "./output.ts";
import { EXIT, UsageError } from "./exit.ts";
import { createTaskPool, prepareTaskPool, TaskModuleError } from "./task_pool.ts";

/** The options of `pool apply`, parsed. */
export interface ApplyCommandOptions {
  readonly moduleUrl: string;
  /** The module as the user gave it, for messages. */
  readonly module: string;
  readonly exportName: string;
  /** The arguments, each one JSON text. */
  readonly args: readonly string[];
  readonly isolation: Isolation;
  readonly timeout: number | undefined;
  readonly permissions: Permissions;
}

/**
 * Parses the JSON arguments of `pool apply`.
 *
 * @throws {UsageError} naming the argument that is not JSON.
 *
 * @example
 * ```ts
 * import { parseJsonArgs } from "./run_apply.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseJsonArgs(["3", '"text"', "[1,2]"]), [3, "text", [1, 2]]);
 * assert.throws(() => parseJsonArgs(["text"]), /argument 1/);
 * ```
 */
export function parseJsonArgs(args: readonly string[]): unknown[] {
  return args.map((text, i) => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new UsageError(
        `Cannot use argument ${i + 1} (${text}) as it is not JSON: ${(error as Error).message}` +
          ` (a string needs JSON quotes, as in '"${text}"')`,
      );
    }
  });
}

/**
 * Runs `pool apply`: prints the result as one line of JSON on stdout (exit 0), or the error
 * on stderr (exit 1).
 *
 * @param options The parsed options.
 * @param io Where to write.
 * @returns The exit code.
 */
export async function runApply(options: ApplyCommandOptions, io: CliIo): Promise<number> {
  const args = parseJsonArgs(options.args);
  const { pool, task } = createTaskPool({
    moduleUrl: options.moduleUrl,
    exportName: options.exportName,
    jobs: 1,
    isolation: options.isolation,
    permissions: options.permissions,
    name: `pool apply ${options.exportName}`,
  });
  await using _pool = pool;
  try {
    // The export is checked, and the worker started, before the call and its timeout.
    await prepareTaskPool(pool, {
      moduleUrl: options.moduleUrl,
      exportName: options.exportName,
      module: options.module,
      workers: 1,
    });
  } catch (error) {
    if (!(error instanceof TaskModuleError)) throw error;
    io.stderr(`pool apply: ${error.message}\n`);
    return EXIT.failed;
  }
  const callOptions = options.timeout === undefined ? {} : { timeout: options.timeout };
  let text: string;
  try {
    text = toJson(await pool.apply(task, args, callOptions));
  } catch (error) {
    const { name, message } = errorInfo(error);
    io.stderr(`pool apply: ${name}: ${message}\n`);
    return EXIT.failed;
  }
  const writer = io.stdout().getWriter();
  try {
    await writer.write(new TextEncoder().encode(text + "\n"));
  } finally {
    writer.releaseLock();
  }
  return EXIT.ok;
}
