/**
 * Whether this process may give Web Workers their own permissions: Deno's
 * `--unstable-worker-options`, found on the command line or in the config file Deno uses.
 *
 * @module
 */

import { PermissionError } from "../core/errors.ts";

/** Whether this process can give workers permissions: what was found, and how. */
export interface WorkerOptionsStatus {
  /**
   * `"enabled"`: the flag is on (command line or config file); `"missing"`: the whole
   * command line and the config file Deno uses were read and neither enables it;
   * `"unknown"`: this process may not read its command line (`/proc/self/cmdline` needs
   * `--allow-all` in Deno 2.9), and the config file did not settle it.
   */
  readonly state: "enabled" | "missing" | "unknown";
  /** What the answer rests on, for messages. */
  readonly evidence: string;
}

let cachedStatus: WorkerOptionsStatus | undefined;

/**
 * Finds out whether Deno's `--unstable-worker-options` is on in this process, without ever
 * creating a worker (which, without the flag, exits the process with code 70). It reads
 * `/proc/self/cmdline` (Linux, needs `--allow-all`) for the flag and for `--config` /
 * `--no-config`, and the config file Deno uses (`deno.json`/`deno.jsonc` found from the main
 * module's folder for `deno run`/`serve`, from the working folder for `deno test`/`bench`
 * and others, and a workspace root above it) for `"unstable": ["worker-options"]`. The
 * answer is computed once per process.
 *
 * @example
 * ```ts
 * import { workerOptionsStatus } from "./deno_config.ts";
 *
 * import assert from "node:assert/strict";
 *
 * // e.g. "enabled", "deno.json at /app/deno.json"
 * const { state, evidence } = workerOptionsStatus();
 * assert.ok(["enabled", "missing", "unknown"].includes(state));
 * assert.equal(typeof evidence, "string");
 * ```
 */
export function workerOptionsStatus(): WorkerOptionsStatus {
  return cachedStatus ??= detectWorkerOptions();
}

/**
 * Throws `PermissionError` when Deno's `--unstable-worker-options` flag is known to be
 * missing, before a Web Worker is given permissions (Deno would exit the whole process
 * with code 70, which nothing can catch). When it cannot be known (see
 * `workerOptionsStatus`), it does not throw: if the flag is then really missing, Deno
 * prints "Unstable API 'Worker.deno.permissions'. The `--unstable-worker-options` flag
 * must be provided." and exits with code 70 when the worker is created.
 *
 * @throws {PermissionError} naming the flag and the two ways to set it.
 *
 * @example
 * ```ts
 * import { assertWorkerOptionsEnabled } from "./deno_config.ts";
 * import assert from "node:assert/strict";
 *
 * // this project's deno.json sets "unstable": ["worker-options"]
 * assert.doesNotThrow(() => assertWorkerOptionsEnabled());
 * ```
 */
export function assertWorkerOptionsEnabled(): void {
  const status = workerOptionsStatus();
  if (status.state !== "missing") return;
  throw new PermissionError(
    `Cannot give a worker its own permissions as Deno's --unstable-worker-options flag is ` +
      `not set (${status.evidence}); Deno would exit the process (code 70). Run Deno with ` +
      `--unstable-worker-options, add "unstable": ["worker-options"] to deno.json, or use ` +
      `isolation: "process", which needs no unstable flag`,
  );
}

const FLAG = "--unstable-worker-options";

/**
 * The config file this process runs with, so a process worker can be given the same one:
 * a path, `null` for none (`--no-config`, or none found), or `undefined` when it cannot be
 * known (no `--allow-all` to read the command line, or no read access to look).
 */
export function configFileInUse(): string | null | undefined {
  const argv = readCommandLine();
  if (argv) {
    if (argv.includes("--no-config")) return null;
    const inline = argv.find((arg) => arg.startsWith("--config="));
    if (inline) return inline.slice("--config=".length);
    const at = argv.findIndex((arg) => arg === "--config" || arg === "-c");
    if (at >= 0 && argv[at + 1] !== undefined) return argv[at + 1]!;
  }
  const configs = discoverConfigs(configStartFolder(argv));
  if (configs === undefined) return undefined;
  return configs[0]?.path ?? null;
}

function detectWorkerOptions(): WorkerOptionsStatus {
  const argv = readCommandLine();
  if (argv?.includes(FLAG)) return { state: "enabled", evidence: `${FLAG} on the command line` };
  // The config file Deno uses: named with --config/-c, none with --no-config, else found.
  let configPath: string | null | undefined = undefined; // undefined: not known
  if (argv) {
    const at = argv.findIndex((arg) => arg === "--config" || arg === "-c");
    const inline = argv.find((arg) => arg.startsWith("--config="));
    if (argv.includes("--no-config")) configPath = null;
    else if (inline) configPath = inline.slice("--config=".length);
    else if (at >= 0 && argv[at + 1] !== undefined) configPath = argv[at + 1]!;
  }
  let configs: { path: string; unstable: readonly string[] }[] | undefined;
  if (configPath === null) configs = [];
  else if (configPath !== undefined) {
    const one = readConfig(configPath);
    configs = one === undefined ? undefined : [one];
  } else {
    configs = discoverConfigs(configStartFolder(argv));
  }
  const enabling = configs?.find((config) => config.unstable.includes("worker-options"));
  if (enabling) return { state: "enabled", evidence: `"unstable" in ${enabling.path}` };
  if (argv && configs) {
    const evidence = configs.length === 0
      ? "not on the command line, and no config file is used"
      : `not on the command line, nor in ${configs.map((c) => c.path).join(", ")}`;
    return { state: "missing", evidence };
  }
  return {
    state: "unknown",
    evidence: argv
      ? "the config file could not be read"
      : "the command line cannot be read without --allow-all",
  };
}

function readCommandLine(): string[] | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const text = Deno.readTextFileSync("/proc/self/cmdline");
    return text.split("\0").filter((arg) => arg !== "");
  } catch {
    return undefined; // NotCapable without --allow-all
  }
}

/** Where Deno starts looking for deno.json: the main module's folder for `deno run`. */
function configStartFolder(argv: string[] | undefined): string | undefined {
  const subcommand = argv?.slice(1).find((arg) => !arg.startsWith("-"));
  const runsFile = subcommand === "run" || subcommand === "serve" ||
    (subcommand !== undefined && /\.(?:[cm]?[jt]sx?)$/.test(subcommand));
  if (runsFile && Deno.mainModule.startsWith("file:")) {
    const path = decodeURIComponent(new URL(".", Deno.mainModule).pathname);
    return path.endsWith("/") && path.length > 1 ? path.slice(0, -1) : path;
  }
  try {
    return Deno.cwd();
  } catch {
    return undefined;
  }
}

/** The nearest deno.json(c) from `folder` up, and any workspace root above it. */
function discoverConfigs(
  folder: string | undefined,
): { path: string; unstable: readonly string[] }[] | undefined {
  if (folder === undefined) return undefined;
  const found: { path: string; unstable: readonly string[] }[] = [];
  let dir = folder;
  while (true) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const path = `${dir === "/" ? "" : dir}/${name}`;
      let exists: boolean;
      try {
        exists = Deno.statSync(path).isFile;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) exists = false;
        else return undefined; // not allowed to look: cannot know
      }
      if (!exists) continue;
      const config = readConfig(path);
      if (config === undefined) return undefined;
      // The nearest config counts; above it, only a workspace root adds its settings.
      if (found.length === 0 || config.workspace) found.push(config);
      break;
    }
    const parent = dir.replace(/\/[^/]*$/, "") || "/";
    if (parent === dir) break;
    dir = parent;
  }
  return found;
}

function readConfig(
  path: string,
): { path: string; unstable: readonly string[]; workspace: boolean } | undefined {
  try {
    const json = JSON.parse(stripJsonc(Deno.readTextFileSync(path))) as Record<string, unknown>;
    const unstable = Array.isArray(json.unstable)
      ? json.unstable.filter((v): v is string => typeof v === "string")
      : [];
    return { path, unstable, workspace: json.workspace !== undefined };
  } catch {
    return undefined;
  }
}

/** JSON with comments and trailing commas (deno.jsonc) to JSON. */
function stripJsonc(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = /"(?:[^"\\]|\\.)*"/y;
      end.lastIndex = i;
      const match = end.exec(text);
      const literal = match?.[0] ?? text.slice(i);
      out += literal;
      i += literal.length - 1;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close < 0 ? text.length : close + 1;
    } else out += ch;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}
