/**
 * The pool behind a CLI command: one task module's export, run under exactly the permissions
 * of the command's flags. The module is resolved against the working directory and loaded
 * by each worker as part of its entry module, so a worker needs no read permission of its
 * own to load it: the task gets nothing beyond the flags.
 *
 * @module
 */

import {
  type Isolation,
  PermissionError,
  type Permissions,
  Pool,
  TaskError,
  taskModule,
  type TaskRef,
} from "../mod.ts";
import { UsageError } from "./exit.ts";

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
  /**
   * Every worker, a replacement too, imports the module as it starts, before it takes a
   * line: a `--timeout` then never counts an import.
   */
  readonly importAtStart?: boolean;
}

/**
 * Creates the pool and the reference to the export it runs. The export is not looked up
 * here (that would run the module's code in this process, with all its permissions): see
 * {@linkcode prepareTaskPool}, which looks it up in a worker.
 *
 * @throws {PermissionError} when the permissions cannot be enforced.
 */
export function createTaskPool(options: TaskPoolOptions): { pool: Pool; task: TaskRef } {
  // Named before the pool starts a worker: the pool then starts its scoped workers with the
  // module in their start-up graph (see src/transport/_task_modules.ts).
  const refs = taskModule<Record<string, (...args: unknown[]) => unknown>>(options.moduleUrl);
  const pool = new Pool({
    size: options.jobs,
    isolation: options.isolation,
    permissions: options.permissions,
    name: options.name,
    ...(options.importAtStart && { initializer: moduleExports, initArgs: [options.moduleUrl] }),
  });
  // `taskModule` gives no reference for "then" (it keeps the object from being a thenable).
  const task = (refs[options.exportName] as TaskRef | undefined) ??
    Object.freeze({ module: options.moduleUrl, exportName: options.exportName });
  return { pool, task };
}

/** The exports of a task module, by kind, as a worker sees them. */
interface ModuleExports {
  readonly functions: string[];
  readonly others: string[];
}

/**
 * Runs in a worker, under the task's permissions: imports the task module, as the
 * worker's first call would (it stays loaded for the calls), and names its exports. The
 * import is compiled by indirect eval only because `deno publish` warns about a computed
 * `import()` (see workers/runtime.ts); it is marked as the worker marks its own imports of
 * task modules (a registered symbol), so a module that starts a pool at its top level fails
 * here as it would there.
 */
async function moduleExports(url: string): Promise<ModuleExports> {
  const importing = Symbol.for("seed-pool.importing-task-module");
  const flags = globalThis as unknown as Record<symbol, unknown>;
  const load = (0, eval)("(url) => import(url)") as (
    url: string,
  ) => Promise<Record<string, unknown>>;
  flags[importing] = true;
  let module: Record<string, unknown>;
  try {
    module = await load(url);
  } finally {
    flags[importing] = false;
  }
  const functions: string[] = [];
  const others: string[] = [];
  for (const [name, value] of Object.entries(module)) {
    (typeof value === "function" ? functions : others).push(name);
  }
  return { functions: functions.sort(), others: others.sort() };
}

/** What {@linkcode prepareTaskPool} found wrong before any call ran. */
export class TaskModuleError extends Error {
  /** Creates the error; `cause` is what the worker threw while importing the module. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskModuleError";
  }
}

/**
 * Makes a command's pool ready before it reads any input: starts `workers` workers (each
 * imports the module once, under the task's permissions) and checks that `exportName` is
 * a function of the module. So a wrong name is told once instead of on every line, and a
 * `--timeout` counts a call's own time, not a worker's start nor the module's import.
 *
 * @param pool The pool from {@linkcode createTaskPool}, before any call.
 * @param options The module and export, as given to {@linkcode createTaskPool}; `module`
 * is the name the user typed, for messages; `workers` how many to start now.
 * @throws {UsageError} when the module has no such function, naming those it has.
 * @throws {TaskModuleError} when the module cannot be imported.
 */
export async function prepareTaskPool(
  pool: Pool,
  options: {
    readonly moduleUrl: string;
    readonly exportName: string;
    readonly module: string;
    readonly workers: number;
  },
): Promise<void> {
  const { moduleUrl, exportName, module } = options;
  // Started together, they go one to a worker: the pool starts a worker for each task
  // that would otherwise wait.
  const probes = Array.from(
    { length: Math.max(1, options.workers) },
    () => pool.apply(moduleExports, [moduleUrl]),
  );
  let found: ModuleExports[];
  try {
    found = await Promise.all(probes);
  } catch (error) {
    if (error instanceof PermissionError) throw error; // no task can run: told as it is
    // What the module threw while it loaded (a TaskError's cause), or why no worker started.
    const cause = error instanceof TaskError ? error.cause : error;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new TaskModuleError(`Cannot load task module '${module}': ${reason}`, {
      cause: error,
    });
  }
  const { functions, others } = found[0]!;
  if (functions.includes(exportName)) return;
  const listed = (names: string[]) =>
    names.length > 12 ? `${names.slice(0, 12).join(", ")}, …` : names.join(", ");
  const has = functions.length === 0
    ? "it exports no functions"
    : `its exported functions: ${listed(functions)}`;
  throw new UsageError(
    others.includes(exportName)
      ? `Cannot call '${exportName}' of '${module}' as it is not a function (${has})`
      : `Cannot call '${exportName}' as '${module}' has no such export (${has})`,
  );
}
