/**
 * `pool map`: streams JSON lines through a task module's export on a pool and writes one
 * record per line.
 *
 * Each line is its own call (`pool.apply`; the pool sends tiny calls to a worker hundreds
 * per message), so a failing line fails alone, and the run goes on. With `--chunksize N`,
 * N lines travel as one `pool.map` task instead: faster for tiny calls, but a failure then
 * fails its whole chunk, as in Python. Lines are read only as fast as results are taken:
 * at most `window` lines are between being read and being written, so memory stays flat
 * however long the input.
 *
 * @module
 */

import { resolve } from "node:path";
import { type Isolation, PermissionError, type Permissions } from "../mod.ts";
import { EXIT } from "./exit.ts";
import type { CliIo } from "./io.ts";
import { countJsonLines, type JsonLine, readJsonLines } from "./jsonl.ts";
import { errorInfo, errorRecord, LineWriter, resultRecord } from "./output.ts";
import { ProgressReporter } from "./progress.ts";
import { StartTimeouts } from "./start_timeouts.ts";
import { createTaskPool, prepareTaskPool, TaskModuleError } from "./task_pool.ts";
import { UsageError } from "./exit.ts";

/** The options of `pool map`, parsed. */
export interface MapCommandOptions {
  readonly moduleUrl: string;
  /** The module as the user gave it, for messages. */
  readonly module: string;
  readonly exportName: string;
  /** A path, or `"-"` for stdin. */
  readonly input: string;
  /** A path, or `"-"` for stdout. */
  readonly output: string;
  /** Append to the output file instead of replacing it. */
  readonly append: boolean;
  readonly jobs: number;
  /** Lines per task; `undefined`: one call per line. */
  readonly chunksize: number | undefined;
  readonly isolation: Isolation;
  /** Per call (per chunk with `chunksize`), ms. */
  readonly timeout: number | undefined;
  /** Pass each line's array as the argument list. */
  readonly spread: boolean;
  readonly unordered: boolean;
  readonly failFast: boolean;
  /** Input lines to pass over at the start. */
  readonly skip: number;
  readonly permissions: Permissions;
}

/** The longest a written record waits in the buffer, ms. */
const FLUSH_MS = 50;

/** One input line on its way through. */
interface Item {
  /** Position among the records (blank and skipped lines have none). */
  readonly seq: number;
  readonly line: number;
  /** The line's value, or its text when it is not JSON. */
  readonly input: unknown;
}

type StopReason = "fail-fast" | "interrupt" | "output-closed" | "fatal";

/**
 * Runs `pool map` and returns its exit code.
 *
 * @param options The parsed options.
 * @param io Where to read, write and report.
 * @returns {@linkcode EXIT}`.ok`, `.failed` or `.interrupted`.
 */
export async function runMap(options: MapCommandOptions, io: CliIo): Promise<number> {
  const ordered = !options.unordered;
  const chunk = options.chunksize ?? 1;
  // A call's timeout runs from its submission, so with --timeout lines are handed over only
  // as workers can take them (and the workers are started first, see prepareTaskPool);
  // otherwise enough are in flight to fill each worker's batches.
  const window = options.timeout === undefined
    ? Math.max(options.jobs * 2048, options.jobs * chunk * 4)
    : options.jobs * chunk;

  // Relative to the folder the command was started from, as the module and --allow-* paths.
  const inputPath = options.input === "-" ? null : resolve(io.cwd, options.input);
  const inputFile = inputPath === null ? null : await openFile(inputPath, "--input", {
    read: true,
  }, options.input);
  let outputFile: Deno.FsFile | null = null;
  let created: ReturnType<typeof createTaskPool>;
  try {
    created = createTaskPool({
      moduleUrl: options.moduleUrl,
      exportName: options.exportName,
      jobs: options.jobs,
      isolation: options.isolation,
      permissions: options.permissions,
      name: `pool map ${options.exportName}`,
      importAtStart: options.timeout !== undefined,
    });
  } catch (error) {
    inputFile?.close();
    throw error;
  }
  const { pool, task } = created;
  try {
    // Before the output is touched: a wrong export name leaves an existing file as it was.
    // With --timeout every worker starts now, so no line's time counts a worker's start.
    await prepareTaskPool(pool, {
      moduleUrl: options.moduleUrl,
      exportName: options.exportName,
      module: options.module,
      workers: options.timeout === undefined ? 1 : options.jobs,
    });
    if (options.output !== "-") {
      outputFile = await openFile(resolve(io.cwd, options.output), "--output", {
        write: true,
        create: true,
        append: options.append,
        truncate: !options.append,
      }, options.output);
    }
  } catch (error) {
    inputFile?.close();
    await pool.terminate();
    if (!(error instanceof TaskModuleError)) throw error;
    io.stderr(`pool map: ${error.message}\n`);
    return EXIT.failed;
  }
  const inputStream = inputFile ? inputFile.readable : io.stdin();
  const writer = new LineWriter(outputFile ? outputFile.writable : io.stdout());

  const progress = io.stderrIsTerminal
    ? new ProgressReporter({ write: io.stderr, columns: io.columns })
    : null;
  const counting = new AbortController();
  if (progress) {
    progress.start();
    if (inputPath !== null) {
      countJsonLines(inputPath, options.skip, counting.signal).then(
        (total) => total !== undefined && progress.setTotal(total),
        () => {}, // the total is a nicety; the run does not depend on it
      );
    }
  }

  let stopped: StopReason | null = null;
  /** Wakes the reading loop when a line was written or the run stops. */
  let wakeSlot: (() => void) | null = null;
  /** Ends the pending read with `null`: a read from an idle stdin may never return. */
  let abandonRead: (() => void) | null = null;
  const stop = (reason: StopReason) => {
    if (stopped) return;
    stopped = reason;
    abandonRead?.();
    const wake = wakeSlot;
    wakeSlot = null;
    wake?.();
  };
  const removeInterrupt = io.onInterrupt(() => stop("interrupt"));

  let failures = 0;
  let firstFailure: { line: number; name: string; message: string } | null = null;
  let fatal: unknown = null;
  let nextSeq = 0;
  /** Ordered: the next record to write, and finished records waiting for it. */
  let writeSeq = 0;
  const waiting = new Map<number, { item: Item; record: string; ok: boolean }>();
  /** Items sent and not finished: for the resume point of an unordered run. */
  const running = new Map<number, Item>();
  /** The last line whose record, and every record before it, was written (ordered). */
  let doneThroughLine = options.skip;
  let lastReadLine = options.skip;

  // Records go out at least every FLUSH_MS, so a pipe reader sees them as they come.
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flushSoon = () => {
    if (flushTimer !== undefined) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      if (stopped) return;
      writer.flush().catch((error) => {
        if (isBrokenPipe(error)) return stop("output-closed");
        fatal = error;
        stop("fatal");
      });
    }, FLUSH_MS);
  };

  const emit = (item: Item, record: string, ok: boolean) => {
    writer.write(record);
    flushSoon();
    progress?.record(ok);
    if (ok) return;
    failures++;
    if (!firstFailure) {
      const { error } = JSON.parse(record) as { error: { name: string; message: string } };
      firstFailure = { line: item.line, ...error };
    }
    if (options.failFast) stop("fail-fast");
  };

  const settle = (item: Item, record: string, ok: boolean) => {
    if (stopped) return;
    running.delete(item.seq);
    if (!ordered) {
      emit(item, record, ok);
    } else {
      waiting.set(item.seq, { item, record, ok });
      for (let next = waiting.get(writeSeq); next && !stopped; next = waiting.get(writeSeq)) {
        waiting.delete(writeSeq);
        writeSeq++;
        doneThroughLine = next.item.line;
        emit(next.item, next.record, next.ok);
      }
    }
    const wake = wakeSlot;
    wakeSlot = null;
    wake?.();
  };

  const succeed = (item: Item, result: unknown) => {
    let record: string;
    try {
      record = resultRecord(result, ordered ? undefined : item.line);
    } catch (error) {
      const message = `Cannot write the result as JSON: ${(error as Error).message}`;
      record = errorRecord({ name: "TypeError", message }, item.input, item.line);
      settle(item, record, false);
      return;
    }
    settle(item, record, true);
  };

  const failed = (item: Item, error: unknown) => {
    if (stopped) return;
    if (error instanceof PermissionError) {
      // Not this line's fault: no line can run. Stop and say why.
      fatal = error;
      stop("fatal");
      return;
    }
    settle(item, errorRecord(errorInfo(error), item.input, item.line), false);
  };

  // Each call below is one task (an apply, or a map of one chunk), as StartTimeouts needs.
  const timeouts = options.timeout === undefined ? null : new StartTimeouts(pool, options.timeout);
  const submit = (items: Item[]) => {
    for (const item of items) running.set(item.seq, item);
    const callOptions = timeouts === null ? {} : { signal: timeouts.next() };
    try {
      if (options.chunksize === undefined) {
        const item = items[0]!;
        const args = options.spread ? item.input as unknown[] : [item.input];
        pool.apply(task, args, callOptions).then(
          (result) => succeed(item, result),
          (error) => failed(item, error),
        );
        return;
      }
      const values = items.map((item) => item.input);
      const mapOptions = { ...callOptions, chunksize: items.length };
      const call = options.spread
        ? pool.starmap(task, values as unknown[][], mapOptions)
        : pool.map(task, values, mapOptions);
      call.then(
        (results) => items.forEach((item, i) => succeed(item, results[i])),
        (error) => items.forEach((item) => failed(item, error)),
      );
    } catch (error) {
      for (const item of items) failed(item, error);
    }
  };

  /** How many lines are between being read and being written. */
  const outstanding = () => ordered ? nextSeq - writeSeq : running.size;

  const lines = readJsonLines(inputStream, { skip: options.skip });
  // Not Promise.race with a long-lived "stopped" promise: every race would leave a reaction
  // on it, one per line, and memory would grow with the input.
  const readNext = () =>
    new Promise<IteratorResult<JsonLine> | null>((resolve, reject) => {
      abandonRead = () => resolve(null);
      lines.next().then(resolve, reject);
    }).finally(() => abandonRead = null);
  let pendingChunk: Item[] = [];
  try {
    while (!stopped) {
      const step = await readNext();
      if (step === null || step.done || stopped) break;
      const entry: JsonLine = step.value;
      lastReadLine = entry.line;
      const item: Item = {
        seq: nextSeq++,
        line: entry.line,
        input: entry.ok ? entry.value : entry.text,
      };
      if (!entry.ok) {
        const message = `Line ${entry.line} is not valid JSON: ${entry.error.message}`;
        settle(item, errorRecord({ name: "SyntaxError", message }, entry.text, entry.line), false);
      } else if (options.spread && !Array.isArray(entry.value)) {
        const message = `Line ${entry.line} must be a JSON array of arguments (--spread): ` +
          `it is ${entry.value === null ? "null" : typeof entry.value}`;
        settle(item, errorRecord({ name: "TypeError", message }, entry.value, entry.line), false);
      } else {
        pendingChunk.push(item);
        if (pendingChunk.length >= chunk) {
          submit(pendingChunk);
          pendingChunk = [];
        }
      }
      while (!stopped && outstanding() >= window) {
        await new Promise<void>((resolve) => wakeSlot = resolve);
      }
      if (writer.full) await writer.flush();
    }
    if (!stopped && pendingChunk.length > 0) submit(pendingChunk);
    while (!stopped && outstanding() > 0) {
      await new Promise<void>((resolve) => wakeSlot = resolve);
      if (writer.full) await writer.flush();
    }
  } catch (error) {
    if (isBrokenPipe(error)) stop("output-closed");
    else throw error;
  } finally {
    clearTimeout(flushTimer);
    removeInterrupt();
    counting.abort();
    if (stopped) {
      await pool.terminate();
      // Not awaited: a read may be pending on an idle stdin; the process exits regardless.
      lines.return(undefined).catch(() => {});
    } else {
      pool.close();
    }
    await pool.join();
    progress?.stop();
  }
  try {
    await writer.close({ close: outputFile !== null });
  } catch (error) {
    if (!isBrokenPipe(error)) throw error;
    stopped ??= "output-closed";
  }

  const reason = stopped as StopReason | null;
  if (reason === "fatal") {
    io.stderr(`pool map: ${(fatal as Error).message}\n`);
    return EXIT.failed;
  }
  if (reason === "output-closed") return EXIT.failed;
  if (reason === "interrupt") {
    const resumeAt = ordered
      ? doneThroughLine
      : resumeLineUnordered([...running.values(), ...pendingChunk], lastReadLine);
    const where = options.output === "-" ? "" : ` (in ${options.output})`;
    io.stderr(
      `pool map: interrupted. Every line up to line ${resumeAt} is done${where}` +
        (ordered ? "" : `, and some later ones too (records carry "line")`) +
        `.\nResume with the same command and --skip ${resumeAt}` +
        (options.output === "-" ? "" : " --append") + "\n",
    );
    return EXIT.interrupted;
  }
  const first = firstFailure as { line: number; name: string; message: string } | null;
  if (reason === "fail-fast" && first) {
    io.stderr(
      `pool map: stopped at the first failure (--fail-fast), line ${first.line}: ` +
        `${first.name}: ${first.message}\n`,
    );
  } else if (failures > 0 && !progress) {
    io.stderr(`pool map: ${failures} line${failures === 1 ? "" : "s"} failed\n`);
  }
  return failures > 0 ? EXIT.failed : EXIT.ok;
}

/** The line before the first unfinished one: all lines up to it are done. */
function resumeLineUnordered(unfinished: readonly Item[], lastReadLine: number): number {
  let first = Infinity;
  for (const item of unfinished) first = Math.min(first, item.line);
  return first === Infinity ? lastReadLine : first - 1;
}

async function openFile(
  path: string,
  flag: string,
  options: Deno.OpenOptions,
  given: string,
): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, options);
  } catch (error) {
    // Deno's message names the absolute path.
    throw new UsageError(`Cannot open ${flag} '${given}': ${(error as Error).message}`);
  }
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    (error instanceof Error && /broken pipe/i.test(error.message));
}
