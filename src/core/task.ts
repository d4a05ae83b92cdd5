/**
 * What a worker can run: self-contained inline functions (shipped as source once per
 * worker) and references to functions exported by task modules (imported by the worker,
 * typed end to end through `taskModule`).
 *
 * @module
 */

import { rememberTaskModule } from "../transport/_task_modules.ts";
import type { FunctionDefinition } from "../wire/protocol.ts";

/**
 * A reference to a function exported by a task module. The worker imports the module and
 * calls the export; the phantom types carry its parameters and result to `apply`/`map`.
 */
export interface TaskRef<A extends unknown[] = unknown[], R = unknown> {
  /** The module's URL. */
  readonly module: string;
  /** The export's name. */
  readonly exportName: string;
  /**
   * Phantom, never set at run time: the export's call signature, so `apply`/`map` check
   * arguments and infer results as a call would.
   */
  readonly "~signature"?: (...args: A) => R;
}

/** An inline function or a task module reference taking `A` and giving `R`. */
export type Task<A extends unknown[] = unknown[], R = unknown> =
  | ((...args: A) => R | PromiseLike<R>)
  | TaskRef<A, R>;

/** Anything the pool accepts as a task, as the `initializer` option takes it. */
// deno-lint-ignore no-explicit-any
export type TaskFn = (...args: any[]) => unknown;

/** The task references of a module's exported functions, keyed by export name. */
export type TaskModule<M> = {
  readonly [K in keyof M as M[K] extends TaskFn ? K : never]: M[K] extends
    (...args: infer A) => infer R ? TaskRef<A, Awaited<R>> : never;
};

/**
 * References to a task module's exported functions, typed by the module's own types.
 * Nothing is imported here; each worker imports the module the first time it runs one of
 * its functions, and keeps it.
 *
 * @param url The module's URL (a `URL`, or an absolute URL string). Relative paths are
 * resolved against the current working directory.
 * @returns An object whose property `name` is a reference to the export `name`.
 * @throws {TypeError} when `url` is not a URL.
 *
 * @example Typed references to a module's exports
 * ```ts
 * import { Pool, taskModule } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const tasks = taskModule<typeof import("../../tests/fixtures/math.ts")>(
 *   new URL("../../tests/fixtures/math.ts", import.meta.url),
 * );
 * await using pool = new Pool(2);
 * const squares: number[] = await pool.map(tasks.square, [1, 2, 3]);
 * assert.deepEqual(squares, [1, 4, 9]);
 * ```
 */
export function taskModule<M>(url: string | URL): TaskModule<M> {
  let href: string;
  try {
    href = url instanceof URL
      ? url.href
      : new URL(url, `file://${Deno.cwd().replaceAll("\\", "/")}/`).href;
  } catch {
    throw new TypeError(`Cannot create task module as 'url' is not a URL: current value is ${url}`);
  }
  rememberTaskModule(href);
  const refs = new Map<string, TaskRef>();
  return new Proxy({}, {
    get(_target, key) {
      // Not a thenable, not a symbol-keyed protocol: only string export names are refs.
      if (typeof key !== "string" || key === "then") return undefined;
      let ref = refs.get(key);
      if (!ref) {
        ref = Object.freeze({ module: href, exportName: key });
        refs.set(key, ref);
      }
      return ref;
    },
  }) as TaskModule<M>;
}

/** Whether `value` is a task module reference. */
export function isTaskRef(value: unknown): value is TaskRef {
  return typeof value === "object" && value !== null &&
    typeof (value as TaskRef).module === "string" &&
    typeof (value as TaskRef).exportName === "string";
}

type InlineDefinition = Extract<FunctionDefinition, { kind: "inline" }>;

/** The key of an inline function known only by its source (see {@link inlineSource}). */
const INLINE_SOURCE = Symbol("seed-pool.inline-source");

/** An inline function known only by its name and source, as a cluster host receives it. */
export interface InlineSource {
  readonly [INLINE_SOURCE]: { readonly name: string; readonly source: string };
}

/**
 * A task that a pool runs as it would an inline function of this source, without this
 * process ever compiling it: a worker host runs other machines' functions this way, and
 * only its workers evaluate them.
 */
export function inlineSource(name: string, source: string): InlineSource {
  return Object.freeze({ [INLINE_SOURCE]: Object.freeze({ name, source }) });
}

function sourceOf(task: unknown): { name: string; source: string } | undefined {
  return typeof task === "object" && task !== null
    ? (task as Partial<InlineSource>)[INLINE_SOURCE]
    : undefined;
}

/**
 * Definitions the pool keeps for reuse, by source (inline) and by module export: past this
 * many, the oldest are dropped (oldest made, not least used: moving an entry on every hit
 * would cost a fresh closure's call 0.4 µs). A dropped definition stays valid wherever it
 * is still held; its source only gets a new number, and is sent to workers again, next time.
 */
export const MAX_DEFINITIONS = 1024;

/**
 * Gives every distinct task a small number, and its definition for the workers. Inline
 * functions are told apart by their source (and name), not their identity: the natural
 * loop `for (…) pool.apply((x) => x + 1, [i])` makes a fresh closure per call, and every
 * one of them is the same task to a worker, which compiles the source once. (Two closures
 * of one source can differ only in what they capture, and an inline function may capture
 * nothing: the worker compiles the bare source either way, see workers/runtime.ts.)
 */
export class FunctionTable {
  /** By identity first: a hoisted function skips reading its source on every call. */
  readonly #inline = new WeakMap<TaskFn, FunctionDefinition>();
  /** By source, or `name \0 source` for a second name of one source; oldest first. */
  readonly #bySource = new Map<string, InlineDefinition>();
  readonly #modules = new Map<string, FunctionDefinition>();
  readonly #refs = new WeakMap<TaskRef, FunctionDefinition>();
  #next = 1;

  /** How many definitions are kept for reuse (for tests: at most 2 × MAX_DEFINITIONS). */
  get size(): number {
    return this.#bySource.size + this.#modules.size;
  }

  /**
   * The definition of a task: one per source of an inline function, one per module export.
   *
   * @throws {TypeError} for anything that is neither a function nor a task reference, and
   * for functions whose source cannot travel (native, bound, classes).
   */
  resolve(task: unknown, where: string): FunctionDefinition {
    const given = typeof task === "function" ? undefined : sourceOf(task);
    if (typeof task === "function" || given !== undefined) {
      const known = this.#inline.get(task as TaskFn);
      if (known) return known;
      const source = given?.source ?? Function.prototype.toString.call(task);
      const name = given?.name ?? (task as TaskFn).name;
      let key = source;
      let definition = this.#bySource.get(key);
      if (definition !== undefined && definition.name !== name) {
        key = `${name}\0${source}`;
        definition = this.#bySource.get(key);
      }
      // Not remembered by identity: a fresh closure per call would fill the WeakMap with
      // dead keys for the collector to sweep.
      if (definition !== undefined) return definition;
      definition = this.#inlineDefinition(name, source, where);
      this.#inline.set(task as TaskFn, definition);
      remember(this.#bySource, key, definition);
      return definition;
    }
    if (isTaskRef(task)) {
      // By identity first: building the key string costs two allocations per call.
      const seen = this.#refs.get(task);
      if (seen) return seen;
      const key = `${task.module}#${task.exportName}`;
      let definition = this.#modules.get(key);
      if (!definition) {
        definition = {
          kind: "module",
          fnId: this.#next++,
          url: task.module,
          exportName: task.exportName,
        };
        remember(this.#modules, key, definition);
      }
      this.#refs.set(task, definition);
      return definition;
    }
    throw new TypeError(
      `Cannot run '${where}' as it must be a function or a task module reference: current ` +
        `value is ${task === null ? "null" : typeof task}`,
    );
  }

  #inlineDefinition(name: string, source: string, where: string): InlineDefinition {
    if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
      throw new TypeError(
        `Cannot run '${where}' as its source is not available (a built-in or bound ` +
          `function such as '${name}'): wrap it in a function of your own`,
      );
    }
    if (/^class\b/.test(source)) {
      throw new TypeError(`Cannot run '${where}' as it is a class, not a function`);
    }
    return { kind: "inline", fnId: this.#next++, name, source };
  }
}

/** Adds an entry, dropping the oldest past {@link MAX_DEFINITIONS} (a Map keeps insertion order). */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= MAX_DEFINITIONS) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** The name shown for a task in events, stats and the dashboard. */
export function taskName(definition: FunctionDefinition): string {
  return definition.kind === "inline" ? definition.name || "(anonymous)" : definition.exportName;
}
