/**
 * `pool worker`: lends this machine's workers to a cluster until it is stopped. It says on
 * stderr when it has joined and when it has left, one line each, in a fixed form that
 * scripts (and the tests) wait for:
 *
 * ```
 * pool worker: host <name> joined cluster <cluster> with <N> workers
 * pool worker: host <name> left cluster <cluster>
 * ```
 *
 * SIGTERM or Ctrl+C makes it leave gracefully (it finishes, or hands back, the tasks it
 * holds); a second one ends it at once.
 *
 * @module
 */

import { serveWorkerHost, type WorkerHost } from "../cluster.ts";
import { type Monitor, serveMonitor } from "../monitor.ts";
import { EXIT } from "./exit.ts";
import type { CliIo } from "./io.ts";
import { errorInfo } from "./output.ts";
import type { WorkerCommandOptions } from "./worker_flags.ts";

/**
 * Runs `pool worker`: joins the cluster, serves until a signal (or the loss of the
 * connection), then leaves.
 *
 * @param options The checked flags, from `workerCommandOptions`.
 * @param io Where to write and hear signals.
 * @returns {@linkcode EXIT}`.ok` after a graceful leave, `.failed` when it could not join or
 * lost its connection, `.interrupted` after a second signal.
 */
export async function runWorker(options: WorkerCommandOptions, io: CliIo): Promise<number> {
  const cluster = options.host.name;
  const warning = nothingToRun(options);
  if (warning) io.stderr(`pool worker: ${warning}\n`);

  // Resolved by a signal that means "quit now": the command returns at once, and the CLI
  // exits, whatever the host is still doing.
  const now = Promise.withResolvers<number>();
  // Resolved when the host is gone: with the error its leaving failed with, if any.
  const gone = Promise.withResolvers<unknown>();
  let host: WorkerHost | undefined;
  let leaving = false;
  const onSignal = () => {
    if (host === undefined || leaving) {
      now.resolve(EXIT.interrupted);
      return;
    }
    leaving = true;
    io.stderr(
      `pool worker: host ${host.name} leaving cluster ${cluster}: finishing or handing back ` +
        "its tasks (Ctrl+C again to quit at once)\n",
    );
    host.close().then(() => gone.resolve(undefined), (error) => gone.resolve(error));
  };
  const stopListening = [io.onInterrupt(onSignal), io.onTerminate?.(onSignal)];

  try {
    const joining = serveWorkerHost(options.host);
    const joined = await Promise.race([
      joining.then((value) => ({ host: value }), (error: unknown) => ({ error })),
      now.promise.then((code) => ({ code })),
    ]);
    if ("code" in joined) {
      // Quit while it was joining: it leaves at once if it got in (nothing is held yet).
      joining.then((late) => late.close(), () => {});
      return joined.code;
    }
    if ("error" in joined) {
      io.stderr(`pool worker: ${joinFailure(joined.error, options)}\n`);
      return EXIT.failed;
    }
    const started = joined.host;
    started.closed.then(() => gone.resolve(undefined), (error) => gone.resolve(error));
    let monitor: Monitor | undefined;
    if (options.serve !== undefined) {
      try {
        monitor = serveMonitor(started, { port: options.serve });
      } catch (error) {
        await started.close().catch(() => {});
        io.stderr(`pool worker: Cannot serve the monitor: ${errorInfo(error).message}\n`);
        return EXIT.failed;
      }
    }
    host = started;
    io.stderr(
      `pool worker: host ${started.name} joined cluster ${cluster} with ${started.size} workers\n`,
    );
    if (monitor) {
      io.stderr(
        `pool worker: its monitor is at ${monitor.url} (deno task tui --connect ${monitor.url})\n`,
      );
    }

    const outcome = await Promise.race([
      gone.promise.then((error) => ({ error })),
      now.promise.then((code) => ({ code })),
    ]);
    if ("code" in outcome) return outcome.code;
    await monitor?.close().catch(() => {});
    io.stderr(`pool worker: host ${started.name} left cluster ${cluster}\n`);
    if (outcome.error !== undefined) {
      io.stderr(`pool worker: Cannot leave cleanly: ${errorInfo(outcome.error).message}\n`);
      return EXIT.failed;
    }
    if (!leaving) {
      io.stderr(
        `pool worker: Cannot stay in cluster ${cluster} as the connection to ` +
          `${options.servers.join(", ")} was lost for good\n`,
      );
      return EXIT.failed;
    }
    return EXIT.ok;
  } finally {
    for (const stop of stopListening) stop?.();
  }
}

/** A warning when the host may run no task at all, else `undefined`. */
function nothingToRun(options: WorkerCommandOptions): string | undefined {
  if ((options.host.modules?.length ?? 0) > 0 || options.host.allowInline) return undefined;
  return "warning: this host may run no task: give --modules PREFIX… (the task modules it " +
    "may import) or --allow-inline (inline functions)";
}

/**
 * What to say when the host could not join: the library's own message when it names the
 * server, else that message after one that does.
 */
function joinFailure(error: unknown, options: WorkerCommandOptions): string {
  const { message } = errorInfo(error);
  if (options.servers.some((server) => message.includes(server))) return message;
  return `Cannot join cluster ${options.host.name} through ${options.servers.join(", ")}: ` +
    message;
}
