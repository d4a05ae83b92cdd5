/**
 * How a worker gets a task's function: an inline function compiled from its source in the
 * worker's global scope, or an export of a task module imported once and kept.
 *
 * @module
 */

import { reasonOf, type TaskFailure, toThrownData } from "../src/wire/thrown.ts";
import type { FunctionDefinition } from "../src/wire/protocol.ts";

/** A task's function, compiled or imported. */
export type TaskFunction = (...args: unknown[]) => unknown;
/** A task's function, ready to call, and what failures say about it. */
export type Loaded = { readonly fn: TaskFunction; readonly inline: boolean; readonly name: string };

/** A failure of kind `as` carrying what was thrown. */
export function failure(thrown: unknown, as: TaskFailure["as"]): TaskFailure {
  return { as, thrown: toThrownData(thrown) };
}

/** Set while a task module evaluates (see `loadModule`). */
const IMPORTING_TASK_MODULE = Symbol.for("seed-pool.importing-task-module");

/** Compiles an inline function, or says why it cannot be. */
export function compileInline(
  definition: Extract<FunctionDefinition, { kind: "inline" }>,
): Loaded | TaskFailure {
  try {
    return { fn: compile(definition.source), inline: true, name: definition.name };
  } catch (error) {
    return failure(
      new TypeError(
        `Cannot compile inline task function '${definition.name || "(anonymous)"}': ${
          (error as Error).message
        }`,
      ),
      "type",
    );
  }
}

/**
 * `import(url)` of a task module. Compiled by indirect eval because `deno publish` warns
 * about every `import()` of a computed specifier (which it cannot rewrite) and has no way
 * to silence it (denoland/deno#22594); a task module's URL is always absolute, so there is
 * nothing to rewrite. Deno checks such an import's permissions as any other.
 */
const importByUrl = (0, eval)("(url) => import(url)") as (
  url: string,
) => Promise<Record<string, unknown>>;

/** Imports a task module (once per worker) and finds the export, or says why not. */
export async function loadModule(
  definition: Extract<FunctionDefinition, { kind: "module" }>,
  moduleCache: Map<string, Promise<Record<string, unknown>>>,
): Promise<Loaded | TaskFailure> {
  let module = moduleCache.get(definition.url);
  if (!module) {
    // Marked while the module evaluates, so a pool created at its top level (a missing
    // `import.meta.main` guard) fails at once instead of starting pools in every worker.
    const flags = globalThis as Record<symbol, unknown>;
    flags[IMPORTING_TASK_MODULE] = true;
    module = importByUrl(definition.url);
    module.finally(() => flags[IMPORTING_TASK_MODULE] = false).catch(() => {});
    moduleCache.set(definition.url, module);
  }
  try {
    const fn = (await module)[definition.exportName];
    if (typeof fn !== "function") {
      const what = fn === undefined ? "has no export" : "exports a non-function as";
      return failure(
        new TypeError(
          `Task module ${definition.url} ${what} '${definition.exportName}'`,
        ),
        "task",
      );
    }
    return { fn: fn as TaskFunction, inline: false, name: definition.exportName };
  } catch (error) {
    moduleCache.delete(definition.url); // a later task may find it fixed
    return failure(
      new Error(`Cannot load task module ${definition.url}: ${reasonOf(error)}`, {
        cause: error,
      }),
      "task",
    );
  }
}

/**
 * Compiles an inline function's source in the worker's global scope, where nothing of the
 * caller's scope exists. Method shorthand (`square(x) { … }`) is not an expression, so it
 * is retried as a function declaration.
 */
export function compile(source: string): TaskFunction {
  const indirectEval = eval;
  try {
    return indirectEval(`(${source}\n)`) as TaskFunction;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const method = /^(async\s+)?(\*?\s*)/.exec(source)!;
    const rest = source.slice(method[0].length);
    return indirectEval(`(${method[1] ?? ""}function ${method[2] ?? ""}${rest}\n)`) as TaskFunction;
  }
}
