/**
 * The CLI's permission flags, spelled as Deno spells them (`--allow-read`,
 * `--allow-net=example.com`, …), turned into the pool's `Permissions` object. They are taken
 * out of the argument list before commander sees it, because Deno's syntax takes a value only
 * after `=`: `--allow-read data.jsonl` grants all reads and leaves `data.jsonl` as an argument,
 * which an option with an optional value in commander would swallow.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { PermissionName, Permissions } from "../mod.ts";

/** The flags the CLI understands, one per permission kind, in the order help lists them. */
export const PERMISSION_FLAGS: readonly {
  readonly flag: string;
  readonly name: PermissionName;
  readonly value: string;
  readonly help: string;
}[] = [
  { flag: "--allow-read", name: "read", value: "PATH", help: "read files (all, or these paths)" },
  {
    flag: "--allow-write",
    name: "write",
    value: "PATH",
    help: "write files (all, or these paths)",
  },
  { flag: "--allow-net", name: "net", value: "HOST", help: "network (all, or these host[:port])" },
  { flag: "--allow-env", name: "env", value: "VAR", help: "environment (all, or these names)" },
  { flag: "--allow-run", name: "run", value: "PROGRAM", help: "subprocesses (all, or these)" },
  { flag: "--allow-ffi", name: "ffi", value: "PATH", help: "dynamic libraries (all, or these)" },
  { flag: "--allow-sys", name: "sys", value: "API", help: "system info (all, or these APIs)" },
  {
    flag: "--allow-import",
    name: "import",
    value: "HOST",
    help: "dynamic import of remote code (all, or these hosts)",
  },
];

/** Grants every kind in full, as Deno's own `--allow-all` does. */
export const ALLOW_ALL_FLAG = "--allow-all";

/** Kinds whose values are file paths: resolved against the working directory, as Deno does. */
const PATH_KINDS: ReadonlySet<PermissionName> = new Set(["read", "write", "ffi"]);

/** A permission flag that cannot be understood; the CLI reports it as a usage error. */
export class PermissionFlagError extends Error {
  /** Creates the error; `message` names the flag. */
  constructor(message: string) {
    super(message);
    this.name = "PermissionFlagError";
  }
}

/** What {@linkcode extractPermissionFlags} found. */
export interface ExtractedPermissions {
  /** The permissions granted to each task: `"none"` when no flag was given. */
  readonly permissions: Permissions;
  /** The arguments with the permission flags taken out, in their order. */
  readonly rest: string[];
  /** The permission flags as given, for messages (`--allow-read=/data`). */
  readonly flags: string[];
}

/**
 * Takes Deno-style permission flags out of an argument list and builds the pool's
 * `Permissions` from them. A bare flag grants the whole kind; `--flag=a,b` grants a list;
 * repeated flags add up; `--allow-all` grants every kind. Paths are made absolute against
 * `cwd`. Nothing after `--` is looked at.
 *
 * @param args The command line arguments.
 * @param cwd The directory relative paths are resolved against.
 * @returns The permissions, the remaining arguments and the flags found.
 * @throws {PermissionFlagError} for a flag with an empty list (`--allow-read=`), or
 * `--allow-all` with a value.
 *
 * @example
 * ```ts
 * import { extractPermissionFlags } from "./permission_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { permissions, rest } = extractPermissionFlags(
 *   ["map", "--allow-read=data,/etc/hosts", "tasks.ts", "--allow-net", "fetchTitle"],
 *   "/home/me",
 * );
 * assert.deepEqual(permissions, { read: ["/home/me/data", "/etc/hosts"], net: true });
 * assert.deepEqual(rest, ["map", "tasks.ts", "fetchTitle"]);
 * assert.equal(extractPermissionFlags(["map"], "/").permissions, "none");
 * const all = extractPermissionFlags(["--allow-all"], "/").permissions;
 * assert.ok(typeof all === "object" && all.net === true && all.run === true);
 * ```
 */
export function extractPermissionFlags(
  args: readonly string[],
  cwd: string,
): ExtractedPermissions {
  const granted = new Map<PermissionName, true | string[]>();
  const rest: string[] = [];
  const flags: string[] = [];
  let allowAll = false;
  let afterDoubleDash = false;
  for (const arg of args) {
    if (afterDoubleDash || !arg.startsWith("--allow-")) {
      if (arg === "--") afterDoubleDash = true;
      rest.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (flag === ALLOW_ALL_FLAG) {
      if (equals !== -1) {
        throw new PermissionFlagError(
          `Cannot use '${arg}' as ${ALLOW_ALL_FLAG} takes no value: write '${ALLOW_ALL_FLAG}', ` +
            "or name the kinds ('--allow-read=PATH', '--allow-net=HOST', …)",
        );
      }
      flags.push(arg);
      allowAll = true;
      continue;
    }
    const known = PERMISSION_FLAGS.find((entry) => entry.flag === flag);
    if (!known) {
      rest.push(arg); // commander reports it as an unknown option
      continue;
    }
    flags.push(arg);
    const previous = granted.get(known.name);
    if (equals === -1) {
      granted.set(known.name, true);
      continue;
    }
    const values = arg.slice(equals + 1).split(",").map((value) => value.trim()).filter(Boolean);
    if (values.length === 0) {
      throw new PermissionFlagError(
        `Cannot use '${arg}' as it lists no ${known.value}: write '${flag}' to allow all, or ` +
          `'${flag}=${known.value}[,${known.value}…]'`,
      );
    }
    if (previous === true) continue;
    const resolved = PATH_KINDS.has(known.name)
      ? values.map((value) => isAbsolute(value) ? value : resolve(cwd, value))
      : values;
    granted.set(known.name, [...(previous ?? []), ...resolved]);
  }
  if (granted.size === 0 && !allowAll) return { permissions: "none", rest, flags };
  const permissions: Partial<Record<PermissionName, true | string[]>> = {};
  for (const { name } of PERMISSION_FLAGS) {
    const value = allowAll ? true : granted.get(name);
    if (value !== undefined) permissions[name] = value;
  }
  return { permissions, rest, flags };
}

/** What the permission flags mean to a `pool map` or `pool apply` (the help's heading). */
const TASK_PERMISSIONS_HEADING = [
  "Permissions (each task gets exactly these, none by default, not even read access to",
  "its own module; spelled as Deno's flags, values after '=' separated by commas):",
];

/**
 * The help section that lists the permission flags.
 *
 * @param heading The lines above the list: what the flags mean to the command (by default,
 * the permissions each task of `map` and `apply` gets).
 */
export function permissionFlagsHelp(heading: readonly string[] = TASK_PERMISSIONS_HEADING): string {
  const width = Math.max(
    ...PERMISSION_FLAGS.map(({ flag, value }) => `${flag}[=${value}...]`.length),
  );
  const lines = PERMISSION_FLAGS.map(({ flag, value, help }) =>
    `  ${`${flag}[=${value}...]`.padEnd(width)}  ${help}`
  );
  return [
    ...heading,
    ...lines,
    `  ${ALLOW_ALL_FLAG.padEnd(width)}  every kind above, in full`,
  ].join("\n");
}
