/**
 * What a process worker may import, and how its code gets onto this machine first.
 *
 * A process worker without import permission runs with `--cached-only`: it downloads no
 * code at all. That is enough when the library is a local checkout, but a library installed
 * from a registry (`jsr:`, or any `https:` URL) is itself remote: the worker's entry
 * (`workers/process.ts`) and the remote task modules of its start-up graph must be in
 * Deno's cache before such a worker starts, and the worker must be allowed to import them
 * from their host. So, before the first worker of a start-up graph, the pool runs
 * `deno cache` on exactly that graph, and gives the worker `--allow-import` for exactly the
 * hosts this process itself may import from among the graph's hosts and Deno's default
 * hosts (an explicit list replaces Deno's defaults). The worker stays `--cached-only`: any
 * other module, even from the same host, is not in the cache and fails to load.
 *
 * Deno's import permission is per host, not per URL: a worker whose permissions list import
 * hosts (so it is not `--cached-only`) is also given the hosts of its start-up graph, and may
 * then download other modules from those hosts too (for a library from JSR: jsr.io, which
 * Deno allows any program by default).
 *
 * @module
 */

/** The hosts a Deno process without `--allow-import` may import from (Deno 2.9). */
const DEFAULT_IMPORT_HOSTS = [
  "deno.land:443",
  "jsr.io:443",
  "esm.sh:443",
  "raw.esm.sh:443",
  "cdn.jsdelivr.net:443",
  "raw.githubusercontent.com:443",
  "gist.githubusercontent.com:443",
];

/** `host:port` of an `http:`/`https:` URL (the form of `--allow-import`), else undefined. */
export function importHost(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}:${port}`;
}

function mayImportHere(host: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "import", host }).state === "granted";
  } catch {
    return false;
  }
}

/** How a process worker gets its code: flags, and what to cache before it starts. */
export interface ImportPlan {
  /** The worker's import flags (`--cached-only`, `--allow-import=…`), replacing any given. */
  readonly flags: string[];
  /** The start-up graph's roots to `deno cache` first; empty when nothing needs caching. */
  readonly precache: readonly string[];
}

/**
 * The import flags of a process worker whose start-up graph has `roots` (its entry and the
 * task modules named in it), given the `--allow-import` flag its permissions asked for
 * (`undefined` for none).
 */
export function importPlan(roots: readonly string[], asked: string | undefined): ImportPlan {
  const graphHosts = [...new Set(roots.map(importHost).filter((host) => host !== undefined))];
  if (asked === "--allow-import") return { flags: [asked], precache: [] };
  if (asked !== undefined) {
    // A list of hosts: it downloads from them, and must reach its own code's hosts too.
    if (graphHosts.length === 0) return { flags: [asked], precache: [] };
    const listed = asked.slice("--allow-import=".length).split(",");
    const hosts = [...new Set([...listed, ...graphHosts.filter(mayImportHere)])];
    return { flags: [`--allow-import=${hosts.join(",")}`], precache: [] };
  }
  // No import permission: load only code already on this machine, download nothing.
  if (graphHosts.length === 0) return { flags: ["--cached-only"], precache: [] };
  const hosts = [...new Set([...DEFAULT_IMPORT_HOSTS, ...graphHosts])].filter(mayImportHere);
  const flags = ["--cached-only"];
  if (hosts.length > 0) flags.push(`--allow-import=${hosts.join(",")}`);
  return { flags, precache: roots };
}

/** Start-up graphs already in the cache, by their `deno cache` command line. */
const cached = new Map<string, Promise<void>>();

/**
 * Puts `roots` (and everything they import) in Deno's cache with `deno cache`, once per
 * distinct command line in this process. A task module that cannot be cached (gone, or its
 * host unreachable) does not stop the worker: the entry is then cached alone, and that task
 * fails when it runs, with its own error.
 *
 * @throws {Error} when the worker's entry itself cannot be cached, with Deno's reason.
 */
export function cacheStartupGraph(
  roots: readonly string[],
  flags: readonly string[],
): Promise<void> {
  // The worker's own flags, but for the one that forbids downloading.
  const args = ["cache", "--quiet", ...flags.filter((flag) => flag !== "--cached-only"), ...roots];
  const key = args.join("\0");
  let done = cached.get(key);
  if (done === undefined) {
    done = denoCache(args).catch(async (error) => {
      if (roots.length === 1) throw error;
      await cacheStartupGraph(roots.slice(0, 1), flags);
    });
    // A failure (say, the network) is tried again by the next worker.
    done.catch(() => cached.delete(key));
    cached.set(key, done);
  }
  return done;
}

async function denoCache(args: string[]): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (output.success) return;
  // deno-lint-ignore no-control-regex
  const text = new TextDecoder().decode(output.stderr).replace(/\x1b\[[0-9;]*m/g, "");
  const reason =
    text.split("\n").map((line) => line.trim()).find((line) => line.startsWith("error:")) ??
      text.trim();
  throw new Error(`Cannot cache the worker's code with 'deno ${args.join(" ")}': ${reason}`);
}
