/**
 * The `--allow-*` flags that give a process worker exactly its permission set.
 *
 * @module
 */

import { PermissionError } from "../core/errors.ts";
import { type CanonicalPermissions, parentHasAll, PERMISSION_NAMES } from "./descriptor.ts";

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
 * import { permissionFlags } from "./flags.ts";
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
