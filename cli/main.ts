/**
 * `pool`: run any exported function over a whole file of JSON lines, in parallel, each call
 * under exactly the permissions given on the command line; or lend this machine's workers to
 * a cluster (`pool worker`).
 *
 * ```sh
 * deno task pool map ./tasks.ts fetchTitle --input urls.jsonl --allow-net=example.com -j 8
 * deno task pool apply ./tasks.ts square 12
 * deno task pool worker --nats nats://127.0.0.1:4222 --cluster jobs -j 8 --modules ./
 * ```
 *
 * Run it with `deno run -A` (the CLI itself needs to read the input, write the output and
 * start workers); the tasks get only the `--allow-*` flags given to the command.
 *
 * @module
 */

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { PermissionError } from "../mod.ts";
import { type CliIo, denoIo } from "./io.ts";
import {
  extractPermissionFlags,
  PermissionFlagError,
  permissionFlagsHelp,
} from "./permission_flags.ts";
import { runApply } from "./run_apply.ts";
import { EXIT, UsageError } from "./exit.ts";
import { runMap } from "./run_map.ts";
import { runWorker } from "./run_worker.ts";
import { resolveModule } from "./task_pool.ts";
import { workerCommandOptions, type WorkerFlags } from "./worker_flags.ts";

const MAP_EXAMPLES = `
Input and output: one JSON value per line in, one JSON record per line out, in input order:
  {"result": <value>}                                      a call that returned
  {"error": {"name", "message"}, "input": <value>, "line": N}   a call that failed, or a
                                                           line that is not JSON
With --unordered, records come as calls finish and every one carries "line":
  {"line": N, "result": <value>}
Blank lines are not input (they get no record). Line numbers count every line from 1.

Exit code: 0 if every line succeeded, 1 if any failed (or --fail-fast stopped the run),
2 for a usage error, 130 on Ctrl+C (it prints the --skip to resume with).

Examples:
  # square each number, 4 workers, no permissions at all
  seq 1 1000 | pool map ./tasks.ts square -j 4 > squares.jsonl

  # fetch page titles; the task may reach these two hosts and nothing else
  pool map ./tasks.ts fetchTitle --input urls.jsonl --output titles.jsonl \\
    --allow-net=example.com,deno.com --timeout 10000

  # each line is an argument list: ["in.png", "out.png", 200]
  pool map ./images.ts resize --spread --input jobs.jsonl \\
    --allow-read=./photos --allow-write=./thumbs`;

const APPLY_EXAMPLES = `
Arguments are JSON: 12, '"text"', '[1, 2]', '{"a": 1}'. The result is printed as one line
of JSON on stdout; a failure is printed on stderr, with exit code 1.

Examples:
  pool apply ./tasks.ts square 12                       # prints 144
  pool apply ./tasks.ts fetchTitle '"https://deno.com"' --allow-net=deno.com`;

const WORKER_EXAMPLES = `
Once joined, it prints one line on stderr, and one when it leaves:
  pool worker: host <name> joined cluster <cluster> with <N> workers
  pool worker: host <name> left cluster <cluster>
SIGTERM or Ctrl+C: it stops taking tasks, finishes (or hands back) those it holds, leaves,
exit code 0. A second Ctrl+C quits at once (exit code 130). Exit code 1 when it cannot join
(or loses its server for good), 2 for a usage error.

Whoever may publish to the cluster's subjects (seedpool.<cluster>.>) may run on this host
whatever --modules, --allow-inline and the --allow-* ceiling let through: protect the NATS
server with authentication, and keep those narrow.

Examples:
  # a NATS server with JetStream first: nats-server -js -sd /tmp/nats
  # lend 2 workers; run task modules of this checkout, and inline functions
  pool worker --nats nats://127.0.0.1:4222 --cluster demo -j 2 --modules ./ --allow-inline

  # a shared server: a token, https modules only, tasks may read /data at most
  pool worker --nats nats://10.0.0.5:4222 --cluster jobs --token "$NATS_TOKEN" \\
    --modules https://example.com/tasks/ --allow-read=/data --isolation process

  # watch this host: deno task tui --connect http://127.0.0.1:9090/
  pool worker --nats nats://127.0.0.1:4222 --cluster demo --modules ./ --serve 9090`;

/** What the permission flags mean to `pool worker`. */
const WORKER_PERMISSIONS_HEADING = [
  "Permission ceiling (the most a task may be granted on this host, none by default; each",
  "task runs with exactly the set it asks for, and a set beyond this fails with",
  "PermissionError; spelled as Deno's flags, values after '=' separated by commas):",
];

/**
 * Runs the CLI and returns its exit code: 0 when every call succeeded (or a worker host left
 * gracefully), 1 when one failed (or a host could not join), 2 for a usage error, 130 when
 * interrupted.
 *
 * @param args The arguments after the program name, as `Deno.args`.
 * @param io Where to read and write; the process's own streams by default.
 * @returns The exit code.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * const out: string[] = [];
 * const io = {
 *   stdin: () => ReadableStream.from([]),
 *   stdout: () => new WritableStream<Uint8Array>(),
 *   stderr: (text: string) => void out.push(text),
 *   stderrIsTerminal: false,
 *   columns: () => 80,
 *   onInterrupt: () => () => {},
 *   cwd: Deno.cwd(),
 * };
 * assert.equal(await main(["map"], io), 2); // missing <module> and <export>
 * assert.match(out.join(""), /missing required argument/);
 * ```
 */
export async function main(args: readonly string[], io: CliIo = denoIo()): Promise<number> {
  let permissions;
  let rest: string[];
  try {
    ({ permissions, rest } = extractPermissionFlags(args, io.cwd));
  } catch (error) {
    if (!(error instanceof PermissionFlagError)) throw error;
    io.stderr(`pool: ${error.message}\n`);
    return EXIT.usage;
  }

  let exitCode: number = EXIT.ok;
  let helpText = "";
  const program = new Command("pool")
    .description(
      "Run an exported function of a module over JSON lines in parallel, each call with\n" +
        "exactly the permissions given by the --allow-* flags (none by default), or lend\n" +
        "this machine's workers to a cluster of pools over NATS JetStream.",
    )
    .exitOverride()
    .configureOutput({
      // Help goes to stdout, as every CLI does, so `pool map --help | less` works.
      writeOut: (text) => void (helpText += text),
      writeErr: (text) => io.stderr(text),
    })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      `\n${permissionFlagsHelp()}\n\nRun 'pool <command> --help' for examples. In this ` +
        "repository: 'deno task pool <command> …'.",
    );

  program
    .command("map")
    .description("call <export> of <module> on every JSON line of the input, in parallel")
    .argument("<module>", "the task module: a path (relative to the working directory) or URL")
    .argument("<export>", "the name of the exported function to call")
    .option("-i, --input <file>", "JSON lines to read ('-' for stdin)", "-")
    .option("-o, --output <file>", "where to write the records ('-' for stdout)", "-")
    .option("--append", "append to the --output file instead of replacing it")
    .option(
      "-j, --jobs <n>",
      "how many workers",
      positiveInteger("--jobs"),
      Math.max(1, navigator.hardwareConcurrency || 1),
    )
    .option(
      "--chunksize <n>",
      "lines per task (default: one call per line, batched automatically); a failure " +
        "fails its whole chunk",
      positiveInteger("--chunksize"),
    )
    .addOption(
      new Option("--isolation <kind>", "run tasks in worker threads or subprocesses")
        .choices(["worker", "process"]).default("worker"),
    )
    .option(
      "--timeout <ms>",
      "stop a call after this many ms (it fails with TimeoutError)",
      positiveInteger("--timeout"),
    )
    .option("--spread", "each line is an array: pass its items as the arguments")
    .option("--unordered", 'write records as calls finish, each with its "line"')
    .option("--fail-fast", "stop at the first failure (exit code 1)")
    .option(
      "--skip <n>",
      "pass over the first n lines (to resume)",
      nonNegativeInteger("--skip"),
      0,
    )
    .addHelpText("after", `\n${permissionFlagsHelp()}\n${MAP_EXAMPLES}`)
    .action(async (module: string, exportName: string, options: MapFlags) => {
      exitCode = await runMap({
        moduleUrl: resolveModule(module, io.cwd),
        module,
        exportName,
        input: options.input,
        output: options.output,
        append: options.append ?? false,
        jobs: options.jobs,
        chunksize: options.chunksize,
        isolation: options.isolation,
        timeout: options.timeout,
        spread: options.spread ?? false,
        unordered: options.unordered ?? false,
        failFast: options.failFast ?? false,
        skip: options.skip,
        permissions,
      }, io);
    });

  program
    .command("apply")
    .description("call <export> of <module> once with the given JSON arguments; print its result")
    .argument("<module>", "the task module: a path (relative to the working directory) or URL")
    .argument("<export>", "the name of the exported function to call")
    .argument("[args...]", "the arguments, each one JSON value")
    .addOption(
      new Option("--isolation <kind>", "run the task in a worker thread or a subprocess")
        .choices(["worker", "process"]).default("worker"),
    )
    .option(
      "--timeout <ms>",
      "stop the call after this many ms (it fails with TimeoutError)",
      positiveInteger("--timeout"),
    )
    .addHelpText("after", `\n${permissionFlagsHelp()}\n${APPLY_EXAMPLES}`)
    .action(
      async (module: string, exportName: string, jsonArgs: string[], options: ApplyFlags) => {
        exitCode = await runApply({
          moduleUrl: resolveModule(module, io.cwd),
          module,
          exportName,
          args: jsonArgs,
          isolation: options.isolation,
          timeout: options.timeout,
          permissions,
        }, io);
      },
    );

  program
    .command("worker")
    .description(
      "lend this machine's workers to a cluster: run the tasks its pools send through NATS " +
        "JetStream",
    )
    .option(
      "--nats <url>",
      "the NATS server (with JetStream): repeat, or separate by commas, for a NATS cluster " +
        "(required)",
      collect,
    )
    .option("--cluster <name>", "the cluster's name, as its clients pass it (required)")
    .option(
      "-j, --jobs <n>",
      "how many workers it lends",
      positiveInteger("--jobs"),
      Math.max(1, navigator.hardwareConcurrency || 1),
    )
    .addOption(
      new Option("--isolation <kind>", "run tasks in worker threads or subprocesses")
        .choices(["worker", "process"]).default("worker"),
    )
    .option(
      "--modules <prefix...>",
      "URL prefixes of the task modules it may import (a path is a file: folder here)",
    )
    .option("--allow-inline", "run inline functions too (their source comes with the task)")
    .option("--name <name>", "this host's name in stats and the dashboard (default host:pid)")
    .option(
      "--serve <port>",
      "serve this host's own monitor on 127.0.0.1:<port> (0 picks one)",
      nonNegativeInteger("--serve"),
    )
    .option("--token <token>", "authenticate to NATS with a token")
    .option("--user <user>", "authenticate to NATS as this user (with --pass)")
    .option("--pass <password>", "the password of --user")
    .option("--creds <file>", "authenticate to NATS with a credentials file (JWT and NKey)")
    .option("--tls", "connect with TLS, trusting the system's certificate authorities")
    .option("--tls-ca <file>", "connect with TLS, trusting this CA certificate")
    .option("--tls-cert <file>", "a client certificate for TLS (with --tls-key)")
    .option("--tls-key <file>", "the key of --tls-cert")
    .option(
      "--ack-wait <ms>",
      "how long a task may go unacknowledged before NATS hands it to another host " +
        "(default 30000; long tasks keep their lease)",
      atLeast("--ack-wait", 1000),
    )
    .addHelpText(
      "after",
      `\n${permissionFlagsHelp(WORKER_PERMISSIONS_HEADING)}\n${WORKER_EXAMPLES}`,
    )
    .action(async (options: WorkerFlags) => {
      exitCode = await runWorker(workerCommandOptions(options, permissions, io.cwd), io);
    });

  try {
    await program.parseAsync(rest, { from: "user" });
    return exitCode;
  } catch (error) {
    if (helpText !== "") await writeStdout(io, helpText);
    if (error instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is usage.
      return error.code === "commander.helpDisplayed" || error.code === "commander.version"
        ? EXIT.ok
        : EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr(`pool: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof PermissionError) {
      io.stderr(`pool: ${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

interface MapFlags {
  input: string;
  output: string;
  append?: boolean;
  jobs: number;
  chunksize?: number;
  isolation: "worker" | "process";
  timeout?: number;
  spread?: boolean;
  unordered?: boolean;
  failFast?: boolean;
  skip: number;
}

interface ApplyFlags {
  isolation: "worker" | "process";
  timeout?: number;
}

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${flag} must be a positive integer.`);
    }
    return n;
  };
}

function atLeast(flag: string, least: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < least) {
      throw new InvalidArgumentError(`${flag} must be an integer of at least ${least}.`);
    }
    return n;
  };
}

/** Adds each use of a repeatable option to the list of those before it. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function nonNegativeInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${flag} must be a non-negative integer.`);
    }
    return n;
  };
}

async function writeStdout(io: CliIo, text: string): Promise<void> {
  const writer = io.stdout().getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}

if (import.meta.main) {
  const io = denoIo();
  // Run where the user stands (see startFolder), so a task's own relative paths mean what
  // the --allow-* paths and the file arguments mean.
  if (io.cwd !== Deno.cwd()) Deno.chdir(io.cwd);
  const code = await main(Deno.args, io);
  // Exits now: an idle stdin read or a stray timer must not keep a finished run alive.
  Deno.exit(code);
}
