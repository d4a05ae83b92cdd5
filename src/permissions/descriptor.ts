import { describe, PermissionError } from "../core/errors.ts";

/**
 * Permission policy in one place: Deno's worker permission descriptor, checked, turned into
 * one canonical key per set (workers live in one lane per key), and into the `--allow-*`
 * flags of a process worker.
 *
 * @module
 */

/** One permission: off, on, on for a list of values, or whatever the parent has. */
export type PermissionValue = boolean | "inherit" | readonly string[];

/** The permission kinds of Deno's worker descriptor. */
export const PERMISSION_NAMES = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

/** One permission kind: `"read"`, `"net"`, … */
export type PermissionName = typeof PERMISSION_NAMES[number];

/**
 * Deno's worker permission descriptor: `"inherit"` (all the parent has), `"none"`, or one
 * entry per kind. A kind left out of the object form is denied, as in Deno's workers.
 *
 * @example
 * ```ts
 * import { type Permissions, permissionsKey } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * const readData: Permissions = { read: ["./data"], net: false };
 * // Equal sets, however written, share one key (and so one lane of workers).
 * assert.equal(permissionsKey(readData), permissionsKey({ net: false, read: ["./data"] }));
 * ```
 */
export type Permissions =
  | "inherit"
  | "none"
  | { readonly [K in PermissionName]?: PermissionValue };

/** The canonical key of a permission set: equal sets have equal keys. */
export type PermissionsKey = string;

/** A permission set in canonical form: every kind present, lists sorted and unique. */
export type CanonicalPermissions =
  | "inherit"
  | { readonly [K in PermissionName]: boolean | "inherit" | readonly string[] };

/**
 * Checks a permission descriptor and returns it in canonical form.
 *
 * @throws {TypeError} when the descriptor is not of Deno's form; the message names `where`.
 */
export function canonicalPermissions(
  permissions: Permissions,
  where = "permissions",
): CanonicalPermissions {
  if (permissions === "inherit") return "inherit";
  const out: Record<string, boolean | "inherit" | readonly string[]> = {};
  if (permissions === "none") {
    for (const name of PERMISSION_NAMES) out[name] = false;
    return out as CanonicalPermissions;
  }
  if (permissions === null || typeof permissions !== "object" || Array.isArray(permissions)) {
    throw new TypeError(
      `Cannot use '${where}' as it must be "inherit", "none" or an object of Deno's worker ` +
        `permission form: current value is ${describe(permissions)}`,
    );
  }
  for (const key of Object.keys(permissions)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(
        `Cannot use '${where}' as '${key}' is not a permission kind (expected one of ` +
          `${PERMISSION_NAMES.join(", ")})`,
      );
    }
  }
  const record = permissions as Record<string, unknown>;
  for (const name of PERMISSION_NAMES) {
    const value = record[name];
    if (value === undefined || value === false) out[name] = false;
    else if (value === true || value === "inherit") out[name] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      out[name] = value.length === 0 ? false : [...new Set(value as string[])].sort();
    } else {
      throw new TypeError(
        `Cannot use '${where}.${name}' as it must be a boolean, "inherit" or a list of ` +
          `strings: current value is ${describe(value)}`,
      );
    }
  }
  return out as CanonicalPermissions;
}

/**
 * The canonical, human-readable key of a permission set: `"inherit"`, `"none"`, or the
 * granted kinds such as `"read=/data net=example.com"`. Equal sets give equal keys.
 *
 * @example
 * ```ts
 * import { permissionsKey } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * assert.equal(permissionsKey({ net: ["b.com", "a.com"], read: true }), "read net=a.com,b.com");
 * assert.equal(permissionsKey({}), "none");
 * assert.equal(permissionsKey("inherit"), "inherit");
 * ```
 */
export function permissionsKey(permissions: Permissions | CanonicalPermissions): PermissionsKey {
  const canonical = typeof permissions === "object" && isCanonical(permissions)
    ? permissions as CanonicalPermissions
    : canonicalPermissions(permissions as Permissions);
  if (canonical === "inherit") return "inherit";
  const parts: string[] = [];
  for (const name of PERMISSION_NAMES) {
    const value = canonical[name];
    if (value === false) continue;
    if (value === true) parts.push(name);
    else if (value === "inherit") parts.push(`${name}=inherit`);
    else parts.push(`${name}=${value.join(",")}`);
  }
  return parts.length === 0 ? "none" : parts.join(" ");
}

function isCanonical(value: object): boolean {
  return PERMISSION_NAMES.every((name) => name in value);
}

/** The field of `Deno.PermissionDescriptor` that names one value of each kind. */
const VALUE_FIELD: Record<PermissionName, string> = {
  read: "path",
  write: "path",
  net: "host",
  env: "variable",
  run: "command",
  ffi: "path",
  sys: "kind",
  import: "host",
};

function parentState(name: PermissionName, value?: string): Deno.PermissionState {
  const descriptor = value === undefined ? { name } : { name, [VALUE_FIELD[name]]: value };
  try {
    return Deno.permissions.querySync(descriptor as Deno.PermissionDescriptor).state;
  } catch {
    // A value Deno cannot parse (say, a malformed host) is nothing this process can grant.
    return "denied";
  }
}

/** Whether this process has every value of a kind (`--allow-<kind>` with no list). */
function parentHasAll(name: PermissionName): boolean {
  return parentState(name) === "granted";
}

/**
 * Checks that this process can grant a permission set: every kind asked as `true` must be
 * fully granted here, and every listed value granted here. `"inherit"` (whole or per kind)
 * asks for what this process has, so it always fits.
 *
 * @throws {PermissionError} naming the first kind or value this process does not have.
 *
 * @example
 * ```ts
 * import { assertPermissionsGrantable, canonicalPermissions } from "./descriptor.ts";
 * import assert from "node:assert/strict";
 *
 * assertPermissionsGrantable(canonicalPermissions("none")); // nothing asked: always fits
 * if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
 *   assert.throws(() => assertPermissionsGrantable(canonicalPermissions({ ffi: true })));
 * }
 * ```
 */
export function assertPermissionsGrantable(permissions: CanonicalPermissions): void {
  if (permissions === "inherit") return;
  for (const name of PERMISSION_NAMES) {
    const value = permissions[name];
    if (value === false || value === "inherit") continue;
    if (value === true) {
      if (!parentHasAll(name)) {
        throw new PermissionError(
          `Cannot grant '${name}' to a task as this process does not have it in full: run ` +
            `Deno with --allow-${name}, or list only the values it has`,
        );
      }
      continue;
    }
    for (const item of value) {
      if (parentState(name, item) !== "granted") {
        throw new PermissionError(
          `Cannot grant '${name}' for ${JSON.stringify(item)} to a task as this process does ` +
            `not have it: run Deno with --allow-${name}=${item}, or ask for less`,
        );
      }
    }
  }
}

/**
 * The `--allow-*` flags that give a process worker exactly `permissions`. `undefined` (the
 * pool's default) and `"inherit"` give each kind this process has in full; a kind this
 * process has only for some values cannot be read back from Deno, so it is not passed on
 * (fail closed). No flag means denied: the worker also runs with `--no-prompt`.
 *
 * @throws {PermissionError} for a listed value that contains a comma, which a flag cannot
 * carry.
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./descriptor.ts";
 * import assert from "node:assert/strict";
 *
 * const flags = permissionFlags({
 *   read: ["/data"], write: false, net: ["127.0.0.1:8080", "example.com"], env: true,
 *   run: false, ffi: false, sys: false, import: false,
 * });
 * assert.deepEqual(flags, ["--allow-read=/data", "--allow-net=127.0.0.1:8080,example.com", "--allow-env"]);
 * ```
 */
export function permissionFlags(permissions: CanonicalPermissions | undefined): string[] {
  const flags: string[] = [];
  for (const name of PERMISSION_NAMES) {
    const value = permissions === undefined || permissions === "inherit"
      ? "inherit"
      : permissions[name];
    if (value === false) continue;
    if (value === "inherit") {
      if (parentHasAll(name)) flags.push(`--allow-${name}`);
      continue;
    }
    if (value === true) {
      flags.push(`--allow-${name}`);
      continue;
    }
    for (const item of value) {
      if (item.includes(",")) {
        throw new PermissionError(
          `Cannot grant '${name}' for ${JSON.stringify(item)} to a process worker as a value ` +
            `with a comma cannot be passed in a --allow-${name} flag`,
        );
      }
    }
    flags.push(`--allow-${name}=${value.join(",")}`);
  }
  return flags;
}

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
 * import { workerOptionsStatus } from "./descriptor.ts";
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
 * import { assertWorkerOptionsEnabled } from "./descriptor.ts";
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
