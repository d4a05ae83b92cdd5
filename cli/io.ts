/**
 * The outside world of the CLI in one object, so commands can be run in tests with streams
 * of their own.
 *
 * @module
 */

/** Where a command reads, writes and hears Ctrl+C. */
export interface CliIo {
  /** Standard input (for `--input -`). */
  readonly stdin: () => ReadableStream<Uint8Array>;
  /** Standard output (for `--output -`). */
  readonly stdout: () => WritableStream<Uint8Array>;
  /** Writes text to standard error. */
  readonly stderr: (text: string) => void;
  /** Whether standard error is a terminal (progress is drawn only then). */
  readonly stderrIsTerminal: boolean;
  /** The terminal's width in columns. */
  readonly columns: () => number;
  /** Calls `handler` on Ctrl+C (SIGINT); returns a function that stops listening. */
  readonly onInterrupt: (handler: () => void) => () => void;
  /**
   * Calls `handler` on SIGTERM (a service manager stopping the command); returns a function
   * that stops listening. Left out where there is no such signal to hear.
   */
  readonly onTerminate?: (handler: () => void) => () => void;
  /**
   * The directory relative paths are resolved against: the folder the command was started
   * from.
   */
  readonly cwd: string;
}

/**
 * The process's own standard streams, SIGINT and SIGTERM, and the folder it was started from
 * (see {@linkcode startFolder}).
 *
 * @example
 * ```ts
 * import { denoIo, startFolder } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * const io = denoIo();
 * assert.equal(io.cwd, startFolder());
 * ```
 */
export function denoIo(): CliIo {
  const encoder = new TextEncoder();
  return {
    stdin: () => Deno.stdin.readable,
    stdout: () => Deno.stdout.writable,
    stderr: (text) => {
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
    },
    stderrIsTerminal: Deno.stderr.isTerminal(),
    columns: () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80;
      }
    },
    onInterrupt: (handler) => {
      Deno.addSignalListener("SIGINT", handler);
      return () => Deno.removeSignalListener("SIGINT", handler);
    },
    // Windows has no SIGTERM to listen to (Deno throws): there a stop is Ctrl+C only.
    ...(Deno.build.os !== "windows" && {
      onTerminate: (handler: () => void) => {
        Deno.addSignalListener("SIGTERM", handler);
        return () => Deno.removeSignalListener("SIGTERM", handler);
      },
    }),
    cwd: startFolder(),
  };
}

/**
 * The folder the command was started from. `deno task` runs its command in the folder of
 * its deno.json, not in the user's: it says where it was started in `INIT_CWD` (as npm
 * does), so that comes first; else the working directory.
 *
 * @example
 * ```ts
 * import { startFolder } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(startFolder(), Deno.env.get("INIT_CWD") || Deno.cwd());
 * ```
 */
export function startFolder(): string {
  try {
    const started = Deno.env.get("INIT_CWD");
    if (started) return started;
  } catch {
    // no env permission: the working directory is all there is
  }
  return Deno.cwd();
}
