/**
 * A worker host's options, checked: what `serveWorkerHost` refuses before it connects.
 *
 * @module
 */

import { hostname } from "node:os";
import type { Isolation } from "../core/events.ts";
import { canonicalPermissions } from "../permissions/descriptor.ts";
import { assertWorkerOptionsEnabled } from "../permissions/deno_config.ts";
import type { Permissions } from "../permissions/descriptor.ts";
import type { ClusterConnectionOptions } from "./client.ts";

/** Options of `serveWorkerHost`. */
export interface WorkerHostOptions extends ClusterConnectionOptions {
  /** Workers it lends; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** `"worker"` (default) or `"process"`: every task of this host runs in a subprocess. */
  isolation?: Isolation;
  /**
   * The most a task may be granted here (its ceiling): a task's own set runs exactly as
   * asked, `"inherit"` means this ceiling, and a set beyond it fails with `PermissionError`.
   * Default `"none"`.
   */
  permissions?: Permissions;
  /** URL prefixes of the task modules it may import (`file:///srv/app/`, `https://…`). */
  modules?: readonly string[];
  /** Whether it runs inline functions (their source comes with the task); default false. */
  allowInline?: boolean;
  /** Its name in stats and the dashboard; default `hostname:pid`. */
  hostName?: string;
  /**
   * How long a task's message may go unacknowledged before NATS gives it to another host,
   * ms; default 30,000. The host keeps long tasks' leases with in-progress acks.
   */
  ackWaitMs?: number;
}

/** A host's options, checked and with their defaults. */
export interface CheckedHost {
  readonly name: string;
  readonly size: number;
  readonly isolation: Isolation;
  readonly ceiling: ReturnType<typeof canonicalPermissions>;
  readonly modules: readonly string[];
  readonly allowInline: boolean;
  readonly ackWaitMs: number;
}

/**
 * Checks a host's options.
 *
 * @throws {TypeError} / {RangeError} naming the option.
 */
export function checkHostOptions(options: WorkerHostOptions, where: string): CheckedHost {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot ${where} as its options must be an object`);
  }
  const size = options.size ?? navigator.hardwareConcurrency;
  if (!Number.isInteger(size) || size < 1 || size > 1024) {
    throw new RangeError(
      `Cannot ${where} as 'size' must be an integer from 1 to 1024: current value is ${size}`,
    );
  }
  const isolation = options.isolation ?? "worker";
  if (isolation !== "worker" && isolation !== "process") {
    throw new TypeError(
      `Cannot ${where} as 'isolation' must be "worker" or "process": current value is ` +
        `${String(isolation)}`,
    );
  }
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  if (!Number.isFinite(ackWaitMs) || ackWaitMs < 1_000) {
    throw new RangeError(
      `Cannot ${where} as 'ackWaitMs' must be at least 1000: current value is ${ackWaitMs}`,
    );
  }
  const modules = options.modules ?? [];
  if (!Array.isArray(modules) || modules.some((m) => typeof m !== "string" || m === "")) {
    throw new TypeError(`Cannot ${where} as 'modules' must be a list of URL prefixes`);
  }
  const ceiling = canonicalPermissions(options.permissions ?? "none", "permissions");
  if (ceiling !== "inherit" && isolation === "worker") assertWorkerOptionsEnabled();
  return {
    name: options.hostName ?? `${hostname()}:${Deno.pid}`,
    size,
    isolation,
    ceiling,
    modules,
    allowInline: options.allowInline === true,
    ackWaitMs,
  };
}
