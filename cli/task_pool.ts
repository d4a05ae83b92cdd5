/**
 * The pool behind a CLI command: one task module's export, run under exactly the permissions
 * of the command's flags. The module is resolved against the working directory and loaded
 * by each worker as part of its entry module, so a worker needs no read permission of its
 * own to load it: the task gets nothing beyond the flags.
 *
 * @module
 */

import { Pool } from "../src/pool.ts";
import type { Isolation } from "../src/events.ts";
import type { Permissions } from "../src/permissions.ts";
import { taskModule, type TaskRef } from "../src/task.ts";

/** A problem with the command's arguments, reported as a usage error (exit code 2). */
export class UsageError extends Error {
  /** Creates the error; `message` says what to fix. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * The URL of a task module given on the command line: a path (relative to `cwd`) or a URL
 * (`file:`, `https:`, `npm:`, `jsr:`, …).
 *
 * @throws {UsageError} when a local module does not exist.
 *
 * @example
 * ```ts
 * import { resolveModule } from "./task_pool.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveModule("https://example.com/t.ts", "/"), "https://example.com/t.ts");
 * assert.throws(() => resolveModule("./no-such-module.ts", "/tmp"), /no-such-module/);
 * ```
 */
export function resolveModule(specifier: string, cwd: string): string {
  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(specifier) && !/^[a-z]:[\\/]/i.test(specifier);
  const url = isUrl
    ? new URL(specifier)
    : new URL(specifier, `file://${cwd.replaceAll("\\", "/").replace(/\/?$/, "/")}`);
  if (url.protocol === "file:") {
    let stat: Deno.FileInfo;
    try {
      stat = Deno.statSync(url);
    } catch {
      throw new UsageError(`Cannot find task module '${specifier}' (looked at ${url.pathname})`);
    }
    if (!stat.isFile) throw new UsageError(`Cannot use task module '${specifier}': not a file`);
  }
  return url.href;
}

/** What a command asks of its pool. */
export interface TaskPoolOptions {
  /** The module's URL, from {@linkcode resolveModule}. */
  readonly moduleUrl: string;
  /** The export to call. */
  readonly exportName: string;
  /** Workers. */
  readonly jobs: number;
  readonly isolation: Isolation;
  /** Exactly what each task may do. */
  readonly permissions: Permissions;
  /** The pool's name, as the dashboard and metrics show it. */
  readonly name: string;
}

/**
 * Creates the pool and the reference to the export it runs. The export is not looked up
 * here (that would run the module's code in this process, with all its permissions): a
 * missing export fails each call with a message naming it.
 *
 * @throws {PermissionError} when the permissions cannot be enforced.
 */
export function createTaskPool(options: TaskPoolOptions): { pool: Pool; task: TaskRef } {
  // Named before the pool starts a worker: the pool then starts its scoped workers with the
  // module in their start-up graph (see src/_task_modules.ts).
  const refs = taskModule<Record<string, (...args: unknown[]) => unknown>>(options.moduleUrl);
  const pool = new Pool({
    size: options.jobs,
    isolation: options.isolation,
    permissions: options.permissions,
    name: options.name,
  });
  // `taskModule` gives no reference for "then" (it keeps the object from being a thenable).
  const task = (refs[options.exportName] as TaskRef | undefined) ??
    Object.freeze({ module: options.moduleUrl, exportName: options.exportName });
  return { pool, task };
}
