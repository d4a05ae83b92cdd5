/**
 * A host's permission ceiling: the most any task may be granted there. A task's own set runs
 * exactly as asked when it lies within the ceiling, kind by kind; `"inherit"` (the whole set
 * or one kind) means the ceiling's; anything wider is refused, never narrowed in silence.
 *
 * @module
 */

import { PermissionError } from "../core/errors.ts";
import {
  type CanonicalPermissions,
  PERMISSION_NAMES,
  type PermissionName,
} from "../permissions/descriptor.ts";

type Kind = Exclude<CanonicalPermissions, "inherit">[PermissionName];

/**
 * The set a task runs under on this host, or a `PermissionError` naming what exceeds the
 * ceiling. `asked` undefined: the client's default set, which means the ceiling.
 */
export function withinCeiling(
  asked: CanonicalPermissions | undefined,
  ceiling: CanonicalPermissions,
  task: string,
): CanonicalPermissions | PermissionError {
  if (asked === undefined || asked === "inherit") return ceiling;
  if (ceiling === "inherit") return asked;
  const out: Record<string, Kind> = {};
  for (const name of PERMISSION_NAMES) {
    const want = asked[name];
    const most = ceiling[name];
    if (want === "inherit") {
      out[name] = most;
      continue;
    }
    const refused = exceeds(name, want, most);
    if (refused !== null) {
      return new PermissionError(
        `Cannot run task '${task}' on this host as it asks ${name} ${refused}, beyond the ` +
          `host's ceiling (${describeKind(most)}): start the host with a wider --allow-${name}`,
      );
    }
    out[name] = want;
  }
  return out as CanonicalPermissions;
}

/** What of `want` lies beyond `most`, or null when nothing does. */
function exceeds(name: PermissionName, want: Kind, most: Kind): string | null {
  if (want === false || most === true || most === "inherit") return null;
  if (want === true) return "in full";
  if (most === false) return `for ${(want as readonly string[]).join(", ")}`;
  const allowed = most as readonly string[];
  const beyond = (want as readonly string[]).filter((entry) => !covered(name, entry, allowed));
  return beyond.length === 0 ? null : `for ${beyond.join(", ")}`;
}

function covered(name: PermissionName, entry: string, allowed: readonly string[]): boolean {
  switch (name) {
    case "read":
    case "write":
    case "ffi":
      return allowed.some((root) => isWithinPath(entry, root));
    case "net":
      return allowed.some((host) => entry === host || entry.split(":")[0] === host);
    default:
      return allowed.includes(entry);
  }
}

function isWithinPath(path: string, root: string): boolean {
  const trimmed = root.endsWith("/") && root.length > 1 ? root.slice(0, -1) : root;
  return path === trimmed || path.startsWith(trimmed === "/" ? "/" : `${trimmed}/`);
}

function describeKind(most: Kind): string {
  if (most === false) return "none";
  if (most === true || most === "inherit") return "all";
  return (most as readonly string[]).join(", ");
}
