/**
 * Every local task module this process has named (through `taskModule()` or a task that
 * ran). A worker with restricted read permission cannot import a module at run time, but
 * modules in its start-up graph load regardless: so workers start from an entry that names
 * the modules it could not read in literal `import()` calls (never called), and a worker
 * asked for a module it was not started with is replaced by one that was (the dispatcher
 * does that, for threads and processes alike).
 *
 * @module
 */
import type { CanonicalPermissions } from "./permissions.ts";

export const TASK_MODULES: Set<string> = new Set<string>();

/** Remembers a task module URL (only `file:` ones need it). */
export function rememberTaskModule(url: string): void {
  if (url.startsWith("file:")) TASK_MODULES.add(url);
}

/**
 * A `data:` entry module that imports `entry` and names `modules` in literal `import()`
 * calls, putting them in the worker's start-up graph; `entry` itself when there are none.
 */
export function entryWithModules(entry: string, modules: Iterable<string>): string {
  const list = [...modules];
  if (list.length === 0) return entry;
  const source = `import ${JSON.stringify(entry)};\n` +
    `export const taskModules = [${
      list.map((url) => `() => import(${JSON.stringify(url)})`).join(", ")
    }];\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}

/**
 * Whether a worker with `permissions` (`undefined`: the parent's own) may read `url` itself,
 * so it can import it at run time without having it in its start-up graph.
 */
export function mayRead(permissions: CanonicalPermissions | undefined, url: string): boolean {
  if (!url.startsWith("file:")) return true;
  return readCovers(permissions, url);
}

function readCovers(permissions: CanonicalPermissions | undefined, url: string): boolean {
  const read = permissions === undefined || permissions === "inherit"
    ? "inherit"
    : permissions.read;
  if (read === true) return true;
  if (read === false) return false;
  if (read === "inherit") return Deno.permissions.querySync({ name: "read" }).state === "granted";
  const path = decodeURIComponent(new URL(url).pathname);
  let cwd = "";
  try {
    cwd = Deno.cwd();
  } catch {
    // a relative grant cannot be resolved: it covers nothing
  }
  return read.some((granted) => {
    const base = granted.startsWith("/") ? granted : cwd ? `${cwd}/${granted}` : "";
    const normal = base.replace(/\/+$/, "").replace(/\/\.(?=\/|$)/g, "");
    return normal !== "" && (path === normal || path.startsWith(`${normal}/`));
  });
}
