/**
 * How a process worker is started: its command line (permission flags, config, imports,
 * heap limit), its main module, and the spawn itself (under `setpriv --pdeathsig` where
 * possible). See src/transport/process.ts for why each flag is there.
 *
 * @module
 */

import { cacheStartupGraph, importPlan } from "./_process_imports.ts";
import { entryWithModules } from "./_task_modules.ts";
import { PermissionError } from "../core/errors.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import { configFileInUse } from "../permissions/deno_config.ts";
import { permissionFlags } from "../permissions/flags.ts";

const ENTRY_URL = new URL("../../workers/process.ts", import.meta.url).href;

/** Whether `setpriv --pdeathsig` is usable: unknown until first tried. */
let setprivUsable: boolean | undefined = undefined;

let configFlag: string[] | undefined;

/**
 * The flags that give a child the parent's config file (import map, `nodeModulesDir`, …),
 * so task modules resolve bare specifiers as they would in a Web Worker.
 */
function configFlags(): string[] {
  if (configFlag) return configFlag;
  const config = configFileInUse();
  configFlag = config === undefined
    ? []
    : config === null
    ? ["--no-config"]
    : [`--config=${config}`];
  return configFlag;
}

/** The worker's main module: the entry, and the task modules it could not otherwise load. */
function mainModule(modules: readonly string[]): string {
  return entryWithModules(ENTRY_URL, modules);
}

/** How a process worker starts: its command line (without the main module), and when. */
export interface Launch {
  readonly args: string[];
  readonly main: string;
  /** Resolves once the worker's code is in Deno's cache; undefined when nothing waits. */
  readonly ready: Promise<void> | undefined;
}

export function launch(
  permissions: CanonicalPermissions | undefined,
  memoryLimitMb: number | undefined,
  modules: readonly string[],
): Launch {
  const allow = permissionFlags(permissions);
  const isImport = (flag: string) =>
    flag === "--allow-import" || flag.startsWith("--allow-import=");
  const imports = importPlan([ENTRY_URL, ...modules], allow.find(isImport));
  const args = [
    "run",
    "--no-prompt",
    ...configFlags(),
    ...allow.filter((flag) => !isImport(flag)),
    ...imports.flags,
  ];
  if (memoryLimitMb !== undefined) {
    args.push(`--v8-flags=--max-old-space-size=${Math.max(1, Math.floor(memoryLimitMb))}`);
  }
  const ready = imports.precache.length === 0
    ? undefined
    : cacheStartupGraph(imports.precache, [...configFlags(), ...imports.flags]);
  return { args, main: mainModule(modules), ready };
}

/**
 * Starts the process, under `setpriv --pdeathsig KILL` where this process may run it (Linux,
 * util-linux): then the kernel kills the worker when this process dies in any way, even a
 * worker stuck in a loop that would never see its stdin close.
 */
export function spawn(options: Deno.CommandOptions): Deno.ChildProcess {
  const deno = Deno.execPath();
  if (setprivUsable === undefined) {
    setprivUsable = Deno.build.os === "linux" &&
      Deno.permissions.querySync({ name: "run", command: "setpriv" }).state === "granted";
  }
  if (setprivUsable) {
    try {
      return new Deno.Command("setpriv", {
        ...options,
        args: ["--pdeathsig", "KILL", "--", deno, ...(options.args ?? [])],
      }).spawn();
    } catch {
      setprivUsable = false; // not installed: start Deno directly from now on
    }
  }
  try {
    return new Deno.Command(deno, options).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new PermissionError(
        `Cannot start a process worker as this process may not run Deno: run it with ` +
          `--allow-run=${deno}`,
        { cause: error },
      );
    }
    throw error;
  }
}
