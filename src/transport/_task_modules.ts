/**
 * Every task module this process has named (through `taskModule()` or a task that ran),
 * local or remote. A worker with restricted read permission cannot import a local module at
 * run time, nor one without import permission a remote one; but modules in its start-up
 * graph load regardless (checked against the parent's permissions): so workers start from
 * an entry that names the modules they could not load in literal `import()` calls (never
 * called), and a worker asked for a module it was not started with is replaced by one that
 * was (the dispatcher does that, for threads and processes alike).
 *
 * @module
 */
import type { CanonicalPermissions } from "../permissions/descriptor.ts";

export const TASK_MODULES: Set<string> = new Set<string>();

/** Remembers a task module URL (only `file:`, `http:` and `https:` ones need it). */
export function rememberTaskModule(url: string): void {
  if (url.startsWith("file:") || isRemote(url)) TASK_MODULES.add(url);
}

function isRemote(url: string): boolean {
  return url.startsWith("https:") || url.startsWith("http:");
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
 * Whether a worker with `permissions` (`undefined`: the parent's own) may load `url` itself
 * (read its file, or import from its host), so it can import it at run time without having
 * it in its start-up graph.
 */
export function mayRead(permissions: CanonicalPermissions | undefined, url: string): boolean {
  if (isRemote(url)) return importCovers(permissions, url);
  if (!url.startsWith("file:")) return true;
  return readCovers(permissions, url);
}

/**
 * Whether the import permission covers the URL's host. An inherited import permission
 * counts only when whole: a process worker is not given a partial one (see
 * `permissionFlags`), and a thread loses nothing by having the module in its start-up graph.
 */
function importCovers(permissions: CanonicalPermissions | undefined, url: string): boolean {
  const allowed = permissions === undefined || permissions === "inherit"
    ? "inherit"
    : permissions.import;
  if (allowed === true) return true;
  if (allowed === false) return false;
  if (allowed === "inherit") {
    return Deno.permissions.querySync({ name: "import" }).state === "granted";
  }
  const { hostname, port, protocol } = new URL(url);
  const hostPort = `${hostname}:${port || (protocol === "https:" ? "443" : "80")}`;
  return allowed.some((host) => host === hostname || host === hostPort);
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
