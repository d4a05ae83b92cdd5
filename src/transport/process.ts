/**
 * Process isolation: each worker is a Deno subprocess running `workers/process.ts`, the same
 * runtime as a Web Worker, with messages framed on its stdio (src/wire/_frames.ts: a marked,
 * checked header with the length, then the message in a small encoding of plain data or in
 * `node:v8` serialization, which has structured-clone semantics). Bytes on the worker's
 * stdout that are not a frame end that worker at once (see `#onCorrupt`).
 *
 * The subprocess is started with exactly its permission set as `--allow-*` flags (stable
 * Deno: no unstable flag), `--no-prompt`, `--cached-only` unless it may import (so it can
 * download no code: not from npm, not from the hosts Deno allows by default), and a V8 heap
 * limit when `memoryLimitMb` is set. Killing it stops anything, even `while (true) {}`.
 * When the library itself is remote (installed from a registry), its worker code is put in
 * Deno's cache before such a worker starts (see src/transport/_process_imports.ts).
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

import { FrameDecoder, FrameWriter } from "../wire/_frames.ts";
import { type Launch, launch, spawn } from "./_process_command.ts";
import { type FromWorker, isLoneResult, type ToWorker } from "../wire/protocol.ts";
import type { Transport, TransportFactory, TransportOptions } from "./transport.ts";

/**
 * The argument that marks a pool's worker processes in the process table
 * (`/proc/<pid>/cmdline`, `ps`), so tools and tests can find them.
 */
export const PROCESS_MARKER = "--seed-pool-worker";

/** How much of a worker's stderr is kept to explain its death. */
const STDERR_TAIL_BYTES = 4096;
const OUT_OF_MEMORY = /out of memory|heap limit/i;

/** The status of a worker killed before its process started. */
const KILLED_BEFORE_START: Deno.CommandStatus = { success: false, code: 1, signal: "SIGKILL" };

/** One subprocess: started at once, or once its code is cached (see `Launch.ready`). */
class Child {
  #process: Deno.ChildProcess | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** Frames sent before the process started, written as it starts. */
  #unwritten: Uint8Array[] = [];
  #killed = false;
  readonly #frames: FrameWriter;
  #stderrTail = "";
  /**
   * Resolves with the exit status once its streams are drained; rejects when the process
   * could not be started.
   */
  readonly ended: Promise<Deno.CommandStatus>;

  constructor(
    { args, main, ready }: Launch,
    onMessage: (child: Child, message: FromWorker) => void,
    onCorrupt: (child: Child, why: string) => void,
  ) {
    this.#frames = new FrameWriter((frame) => this.#write(frame));
    const options: Deno.CommandOptions = {
      // The marker is a script argument: it names the process in the process table.
      args: [...args, main, PROCESS_MARKER],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    };
    // Without a wait, started now, so that a failure to start throws here.
    this.ended = ready === undefined
      ? this.#start(options, onMessage, onCorrupt)
      : ready.then(() =>
        this.#killed ? KILLED_BEFORE_START : this.#start(options, onMessage, onCorrupt)
      );
  }

  #start(
    options: Deno.CommandOptions,
    onMessage: (child: Child, message: FromWorker) => void,
    onCorrupt: (child: Child, why: string) => void,
  ): Promise<Deno.CommandStatus> {
    const process = this.#process = spawn(options);
    const writer = this.#writer = process.stdin.getWriter();
    for (const frame of this.#unwritten) this.#write(frame);
    this.#unwritten = [];
    const stdoutDone = this.#readFrames(process, onMessage, onCorrupt);
    const stderrDone = this.#forwardStderr(process);
    return Promise.all([process.status, stdoutDone, stderrDone]).then(([status]) => {
      writer.abort().catch(() => {});
      return status;
    });
  }

  /** The process id, once started. */
  get pid(): number | undefined {
    return this.#process?.pid;
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
    if (this.#writer === undefined) {
      this.#unwritten.push(frame);
      return;
    }
    // A write to a dead worker fails: its end is reported by its status, not here.
    this.#writer.write(frame).catch(() => {});
  }

  kill(): void {
    this.#killed = true;
    try {
      this.#process?.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  async #readFrames(
    process: Deno.ChildProcess,
    onMessage: (child: Child, message: FromWorker) => void,
    onCorrupt: (child: Child, why: string) => void,
  ): Promise<void> {
    const frames = new FrameDecoder();
    let corrupt = false;
    try {
      for await (const chunk of process.stdout) {
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

  async #forwardStderr(process: Deno.ChildProcess): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of process.stderr) {
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
        launch(options.permissions, options.memoryLimitMb, options.modules),
        (from, message) => this.#onMessage(from, message),
        (from, why) => this.#onCorrupt(from, why),
      );
      child.ended.then(
        (status) => this.#onEnded(child!, status),
        (error) => this.#onStartFailed(child!, error),
      );
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
        `Worker process ${from.pid} wrote to its stdout outside the pool's frames ` +
          `(${why}): stdout carries the pool's messages, so a task must not write to file ` +
          `descriptor 1 itself (as node:fs writeSync(1, …) or /dev/stdout do); use ` +
          `console.log, which a process worker sends to stderr, or write to Deno.stderr`,
      ),
    );
  }

  /** The worker's code could not be cached, or its process not started. */
  #onStartFailed(child: Child, error: unknown): void {
    if (child !== this.#child || this.#terminated || this.#ended) return;
    this.#ended = true;
    this.#options.listener.exit(error);
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
    await this.#child?.ended.catch(() => {});
  }
}

/** Why a worker process ended on its own, in words. */
function exitError(child: Child, status: Deno.CommandStatus, memoryLimitMb?: number): Error {
  const pid = child.pid;
  const tail = child.stderrTail;
  const how = status.signal !== null
    ? `was killed by ${status.signal}`
    : `exited with code ${status.code}`;
  if (OUT_OF_MEMORY.test(tail)) {
    const limit = memoryLimitMb === undefined ? "" : ` (memoryLimitMb: ${memoryLimitMb})`;
    return new Error(`Worker process ${pid} ran out of memory${limit} and ${how}`);
  }
  // Deno's own "error: …" line says why, even with a backtrace after it (RUST_BACKTRACE).
  // deno-lint-ignore no-control-regex
  const lines = tail.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((line) => line.trim())
    .filter((line) => line !== "");
  const lastLine = lines.findLast((line) => line.startsWith("error:")) ?? lines.at(-1);
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
