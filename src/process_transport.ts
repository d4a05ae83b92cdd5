/**
 * Process isolation: each worker is a Deno subprocess running `workers/process.ts`, the same
 * runtime as a Web Worker, with messages framed on its stdio (src/_frames.ts: a marked,
 * checked header with the length, then the message in a small encoding of plain data or in
 * `node:v8` serialization, which has structured-clone semantics). Bytes on the worker's
 * stdout that are not a frame end that worker at once (see `#onCorrupt`).
 *
 * The subprocess is started with exactly its permission set as `--allow-*` flags (stable
 * Deno: no unstable flag), `--no-prompt`, `--cached-only` unless it may import (so it can
 * download no code: not from npm, not from the hosts Deno allows by default), and a V8 heap
 * limit when `memoryLimitMb` is set. Killing it stops anything, even `while (true) {}`.
 *
 * Task modules load whatever the worker's read permission: Deno checks a module imported
 * at run time against the importing process's own read permission, but not the modules of
 * its start-up graph. So a worker that may not read a task module's file starts from a
 * small `data:` module that names the task modules in literal `import()`s, which puts them
 * (and everything they import) in its start-up graph. The dispatcher chooses those modules
 * (`TransportOptions.modules`), and replaces a worker asked for one it was not started with,
 * as it does for Web Workers.
 *
 * @module
 */

import { FrameDecoder, FrameWriter } from "./_frames.ts";
import { entryWithModules } from "./_task_modules.ts";
import { PermissionError } from "./errors.ts";
import { type CanonicalPermissions, configFileInUse, permissionFlags } from "./permissions.ts";
import { type FromWorker, isLoneResult, type ToWorker } from "./protocol.ts";
import type { Transport, TransportFactory, TransportOptions } from "./transport.ts";

const ENTRY_URL = new URL("../workers/process.ts", import.meta.url).href;

/**
 * The argument that marks a pool's worker processes in the process table
 * (`/proc/<pid>/cmdline`, `ps`), so tools and tests can find them.
 */
export const PROCESS_MARKER = "--seed-pool-worker";

/** How much of a worker's stderr is kept to explain its death. */
const STDERR_TAIL_BYTES = 4096;
const OUT_OF_MEMORY = /out of memory|heap limit/i;

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

/** The command line of a process worker, without the main module. */
function workerArgs(
  permissions: CanonicalPermissions | undefined,
  memoryLimitMb: number | undefined,
): string[] {
  const allow = permissionFlags(permissions);
  const args = ["run", "--no-prompt", ...configFlags(), ...allow];
  // No import permission: load only code already on this machine, download nothing.
  if (!allow.some((flag) => flag === "--allow-import" || flag.startsWith("--allow-import="))) {
    args.push("--cached-only");
  }
  if (memoryLimitMb !== undefined) {
    args.push(`--v8-flags=--max-old-space-size=${Math.max(1, Math.floor(memoryLimitMb))}`);
  }
  return args;
}

/** One running subprocess. */
class Child {
  readonly process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #frames: FrameWriter;
  #stderrTail = "";
  /** Resolves with the exit status once its streams are drained. */
  readonly ended: Promise<Deno.CommandStatus>;

  constructor(
    args: string[],
    modules: readonly string[],
    onMessage: (child: Child, message: FromWorker) => void,
    onCorrupt: (child: Child, why: string) => void,
  ) {
    const main = mainModule(modules);
    const options: Deno.CommandOptions = {
      // The marker is a script argument: it names the process in the process table.
      args: [...args, main, PROCESS_MARKER],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    };
    this.process = spawn(options);
    this.#writer = this.process.stdin.getWriter();
    this.#frames = new FrameWriter((frame) => this.#write(frame));
    const stdoutDone = this.#readFrames(onMessage, onCorrupt);
    const stderrDone = this.#forwardStderr();
    this.ended = Promise.all([this.process.status, stdoutDone, stderrDone]).then(([status]) => {
      this.#writer.abort().catch(() => {});
      return status;
    });
  }

  /** The last lines the worker wrote to stderr. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /** Sends a message as a frame (see FrameWriter); throws DataCloneError. */
  send(message: ToWorker): void {
    try {
      this.#frames.send(message);
    } catch (error) {
      throw new DOMException(
        `Cannot send the message to a process worker: ${(error as Error).message}`,
        "DataCloneError",
      );
    }
  }

  #write(frame: Uint8Array): void {
    // A write to a dead worker fails: its end is reported by its status, not here.
    this.#writer.write(frame).catch(() => {});
  }

  kill(): void {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  async #readFrames(
    onMessage: (child: Child, message: FromWorker) => void,
    onCorrupt: (child: Child, why: string) => void,
  ): Promise<void> {
    const frames = new FrameDecoder();
    let corrupt = false;
    try {
      for await (const chunk of this.process.stdout) {
        if (corrupt) continue; // drain, so the stream closes
        // The messages before a corruption are the worker's own: they still count.
        const messages = await frames.messages(chunk) as FromWorker[];
        for (const message of messages) onMessage(this, message);
        if (frames.corruption !== null) {
          corrupt = true;
          onCorrupt(this, frames.corruption);
        }
      }
    } catch {
      // The stream broke as the process was killed: its status tells the rest.
    }
  }

  async #forwardStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.process.stderr) {
        // The pool's stderr is where a worker's console output and errors belong.
        try {
          await writeStderr(chunk);
        } catch {
          // our stderr is closed: keep draining
        }
        this.#stderrTail = (this.#stderrTail + decoder.decode(chunk, { stream: true }))
          .slice(-STDERR_TAIL_BYTES);
      }
    } catch {
      // killed
    }
  }
}

async function writeStderr(bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stderr.write(bytes.subarray(offset));
}

/**
 * Starts the process, under `setpriv --pdeathsig KILL` where this process may run it (Linux,
 * util-linux): then the kernel kills the worker when this process dies in any way, even a
 * worker stuck in a loop that would never see its stdin close.
 */
function spawn(options: Deno.CommandOptions): Deno.ChildProcess {
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

/**
 * Detaches transferred buffers as `postMessage` would, so code behaves the same in both
 * isolations: the data itself was copied into the frame (a process cannot share memory).
 */
function detach(transfer: readonly Transferable[]): void {
  for (const item of transfer) {
    if (!(item instanceof ArrayBuffer)) {
      throw new DOMException(
        `Cannot transfer a ${
          (item as object)?.constructor?.name ?? typeof item
        } to a process worker: only ArrayBuffers can be transferred (they are copied)`,
        "DataCloneError",
      );
    }
  }
  structuredClone(undefined, { transfer: transfer as Transferable[] });
}

/** A transport whose worker is a Deno subprocess; see the module docs. */
class ProcessTransport implements Transport {
  readonly #options: TransportOptions;
  readonly #child: Child | undefined;
  #crashReported = false;
  #terminated = false;
  #ended = false;

  constructor(options: TransportOptions) {
    this.#options = options;
    let child: Child | undefined;
    try {
      child = new Child(
        workerArgs(options.permissions, options.memoryLimitMb),
        options.modules,
        (from, message) => this.#onMessage(from, message),
        (from, why) => this.#onCorrupt(from, why),
      );
      child.ended.then((status) => this.#onEnded(child!, status));
    } catch (error) {
      // Could not start (no --allow-run for Deno, …): told like any other early death.
      this.#ended = true;
      queueMicrotask(() => {
        if (!this.#terminated) options.listener.exit(error);
      });
    }
    this.#child = child;
  }

  send(message: ToWorker, transfer?: Transferable[]): void {
    if (this.#terminated || this.#ended) return;
    this.#child!.send(message);
    if (transfer !== undefined && transfer.length > 0) detach(transfer);
  }

  #onMessage(from: Child, message: FromWorker): void {
    if (from !== this.#child || this.#terminated || this.#ended) return;
    if (!isLoneResult(message) && message.type === "crash") this.#crashReported = true;
    this.#options.listener.message(message);
  }

  #onCorrupt(from: Child, why: string): void {
    if (from !== this.#child || this.#terminated || this.#ended) return;
    this.#ended = true;
    from.kill();
    this.#options.listener.exit(
      new Error(
        `Worker process ${from.process.pid} wrote to its stdout outside the pool's frames ` +
          `(${why}): stdout carries the pool's messages, so a task must not write to file ` +
          `descriptor 1 itself (as node:fs writeSync(1, …) or /dev/stdout do); use ` +
          `console.log, which a process worker sends to stderr, or write to Deno.stderr`,
      ),
    );
  }

  #onEnded(child: Child, status: Deno.CommandStatus): void {
    if (child !== this.#child || this.#terminated || this.#ended) return;
    this.#ended = true;
    // After a crash message the pool already knows; it will terminate this transport.
    if (this.#crashReported) return;
    this.#options.listener.exit(exitError(child, status, this.#options.memoryLimitMb));
  }

  async terminate(): Promise<void> {
    this.#terminated = true;
    this.#child?.kill();
    await this.#child?.ended;
  }
}

/** Why a worker process ended on its own, in words. */
function exitError(child: Child, status: Deno.CommandStatus, memoryLimitMb?: number): Error {
  const pid = child.process.pid;
  const tail = child.stderrTail;
  const how = status.signal !== null
    ? `was killed by ${status.signal}`
    : `exited with code ${status.code}`;
  if (OUT_OF_MEMORY.test(tail)) {
    const limit = memoryLimitMb === undefined ? "" : ` (memoryLimitMb: ${memoryLimitMb})`;
    return new Error(`Worker process ${pid} ran out of memory${limit} and ${how}`);
  }
  const lastLine = tail.split("\n").map((line) => line.trim()).filter((line) => line !== "")
    .at(-1);
  return new Error(
    `Worker process ${pid} ${how}${lastLine === undefined ? "" : `: ${lastLine}`}`,
  );
}

/**
 * Process isolation: a worker is a Deno subprocess with exactly its permissions as
 * `--allow-*` flags. Killing it really stops it, and running out of memory or crashing
 * takes only it down. The parent needs `--allow-run` for the Deno executable.
 *
 * @example
 * ```ts
 * import { Pool } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ size: 1, isolation: "process", permissions: "none" });
 * assert.equal(await pool.apply((x: number) => x * 2, [21]), 42);
 * ```
 */
export const processTransport: TransportFactory = (options) => new ProcessTransport(options);
