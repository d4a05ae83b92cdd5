/**
 * The subprocess entry of a pool worker (`isolation: "process"`): the same runtime as a Web
 * Worker (`createRuntime`), spoken over the process's stdio. Each message travels as one
 * frame (src/wire/_frames.ts): a marked, checked header with the length, then the message in a
 * small encoding of plain data or in `node:v8` serialization (structured-clone semantics).
 * stdin carries the pool's messages; stdout carries this worker's and nothing else, so
 * console output is sent to stderr. stderr is free text the pool forwards to its own stderr
 * (it also reads V8's out-of-memory report there).
 *
 * The process ends as soon as its stdin ends (the pool closed it, or the pool's process
 * died), and when its parent process changes (the pool's process died and this one was
 * re-parented), so a worker never outlives its pool while its event loop can run.
 *
 * @module
 */

import { FrameDecoder, FrameWriter } from "../src/wire/_frames.ts";
import { createRuntime, interceptDeaths } from "./runtime.ts";
import type { ToWorker } from "../src/wire/protocol.ts";

/** How often the parent process is checked, ms. */
const PARENT_CHECK_MS = 500;

// Captured before any task code runs, which may replace these.
const realExit = Deno.exit.bind(Deno);
const stdout = Deno.stdout;
const writeStdout = stdout.writeSync.bind(stdout);

function writeAll(bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeStdout(bytes.subarray(offset));
}

function writeFrame(frame: Uint8Array): void {
  try {
    writeAll(frame);
  } catch {
    // The pool is gone (broken pipe): nobody is left to work for.
    realExit(0);
  }
}

const frames = new FrameWriter(writeFrame);

const runtime = createRuntime({
  // Throws for what cannot be cloned, before anything is written.
  post: (message) => frames.send(message),
  // At once, as a task that called close() must stop there; unless a last message still
  // waits for node:v8 to load (see FrameWriter).
  close: () => frames.waiting ? void frames.flushed().then(() => realExit(0)) : realExit(0),
});

consoleToStderr();
// A direct write to stdout by a task would corrupt the stream: send it to stderr too. What
// cannot be redirected (node:fs writeSync(1, …), /dev/stdout) the pool detects instead.
Object.defineProperty(stdout, "writeSync", { value: (p: Uint8Array) => Deno.stderr.writeSync(p) });
Object.defineProperty(stdout, "write", { value: (p: Uint8Array) => Deno.stderr.write(p) });
Object.defineProperty(stdout, "writable", { get: () => Deno.stderr.writable });

interceptDeaths(runtime, "close");

// The pool's process died without closing stdin (it cannot, if it was SIGKILLed while
// this process held a copy of the pipe): being re-parented says so.
const parentPid = Deno.ppid;
const parentCheck = setInterval(() => {
  if (Deno.ppid !== parentPid) realExit(0);
}, PARENT_CHECK_MS);
Deno.unrefTimer(parentCheck);

/**
 * stdout belongs to the protocol: a task's console output goes to stderr instead, where the
 * pool forwards it (console.error, warn, trace and assert already go there). Deno's
 * console calls its own methods internally, not the replaced ones (`count` and the timers
 * print with its `info`, `group` its label with its `log`), so those are redone here on
 * top of `console.error`, in Deno's format; `group` still indents the output after it.
 */
function consoleToStderr(): void {
  const error = console.error.bind(console);
  const warn = console.warn.bind(console);
  const indent = console.group.bind(console);
  const replace = (method: string, fn: (...args: unknown[]) => void) =>
    Object.defineProperty(console, method, { value: fn, writable: true, configurable: true });
  for (const method of ["log", "info", "debug", "dir", "dirxml", "table"]) replace(method, error);
  const counts = new Map<string, number>();
  replace("count", (label = "default") => {
    const count = (counts.get(String(label)) ?? 0) + 1;
    counts.set(String(label), count);
    error(`${label}: ${count}`);
  });
  replace("countReset", (label = "default") => {
    if (counts.has(String(label))) counts.set(String(label), 0);
    else warn(`Count for '${label}' does not exist`);
  });
  const timers = new Map<string, number>();
  replace("time", (label = "default") => {
    if (timers.has(String(label))) warn(`Timer '${label}' already exists`);
    else timers.set(String(label), performance.now());
  });
  const elapsed = (label: unknown, end: boolean, extra: unknown[]) => {
    const start = timers.get(String(label));
    if (start === undefined) return warn(`Timer '${label}' does not exist`);
    if (end) timers.delete(String(label));
    error(`${label}: ${(performance.now() - start).toFixed(3)}ms`, ...extra);
  };
  replace("timeLog", (label = "default", ...extra) => elapsed(label, false, extra));
  replace("timeEnd", (label = "default") => elapsed(label, true, []));
  const group = (...label: unknown[]) => {
    if (label.length > 0) error(...label);
    indent();
  };
  replace("group", group);
  replace("groupCollapsed", group);
}

/** Reads frames from stdin until it ends, then ends the process. */
async function readFrames(): Promise<void> {
  const decoder = new FrameDecoder();
  // Plain reads, not `Deno.stdin.readable`: the stream costs ~60 µs more per message here
  // (a bare stdio ping-pong: 109 µs with reads, 168 µs with the stream).
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const read = await Deno.stdin.read(buffer);
    if (read === null) break;
    const messages = await decoder.messages(buffer.subarray(0, read)) as ToWorker[];
    // A corrupt stream: nothing more can be trusted.
    if (decoder.corruption !== null) realExit(2);
    for (const message of messages) runtime.receive(message);
  }
  realExit(0);
}

readFrames();
