import { PermissionError } from "../core/errors.ts";
import { describe } from "../util/_describe.ts";

/**
 * Deno's worker permission descriptor, checked, turned into one canonical key per set
 * (workers live in one lane per key), and checked against what this process may grant.
 * The `--allow-*` flags of a process worker are in `flags.ts`, the detection of Deno's
 * `--unstable-worker-options` in `deno_config.ts`.
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
export function parentHasAll(name: PermissionName): boolean {
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
