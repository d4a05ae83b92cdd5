/**
 * `deno task tui`: the live dashboard. With no arguments it runs a built-in demo on a local
 * pool; with `--connect URL` it attaches to a pool served by `serveMonitor` in another
 * process.
 *
 * @example Watch your own pool
 * ```ts ignore
 * // in your program:
 * import { serveMonitor } from "@seed/pool/monitor";
 * const monitor = serveMonitor(pool); // prints nothing; monitor.url is e.g. http://127.0.0.1:43117/
 * // in a terminal:
 * // deno task tui --connect http://127.0.0.1:43117
 * ```
 *
 * @module
 */

import { Command, InvalidArgumentError } from "commander";
import { render } from "ink";
import { createElement } from "react";
import { serveMonitor, watchPool } from "../monitor.ts";
import { followMonitor } from "./client.ts";
import { App } from "./components/app.tsx";
import { createDemoPool, runDemoWorkload } from "./demo.ts";
import { DashboardStore } from "./store.ts";

/** The dashboard's command line, parsed. */
export interface TuiOptions {
  /** The monitor to attach to; absent for the demo. */
  connect?: string;
  /** Bearer token for `--connect`. */
  token?: string;
  /** Redraw interval, ms. */
  refresh: number;
  /** Demo only: also serve the demo pool's monitor on this port. */
  serve?: number;
}

/** Parses the command line (`--help` prints the usage and exits). */
export function parseArgs(args: readonly string[]): TuiOptions {
  const program = new Command()
    .name("deno task tui")
    .description(
      "Live terminal dashboard of a seed pool: workers, throughput, queue, latency, errors.\n\n" +
        "With no options it starts a built-in demo: a local pool named \"demo\" running Monte\n" +
        "Carlo π, squares, tasks of uneven length, a failing task and a permission-denied task.\n\n" +
        "To watch your own pool, serve it from your program and connect from a terminal:\n" +
        '  import { serveMonitor } from "@seed/pool/monitor";\n' +
        "  const monitor = serveMonitor(pool);   // monitor.url: http://127.0.0.1:PORT/\n" +
        "  deno task tui --connect http://127.0.0.1:PORT\n\n" +
        "Keys: q or Ctrl+C quits.",
    )
    .option("--connect <url>", "attach to a pool served by serveMonitor at this URL")
    .option("--token <token>", "bearer token for --connect (or put ?token= in the URL)")
    .option("--refresh <ms>", "redraw interval in milliseconds", positiveInt("--refresh"), 500)
    .option(
      "--serve <port>",
      "demo only: also serve the demo pool's monitor on this port (0 picks one)",
      nonNegativeInt("--serve"),
    )
    .showHelpAfterError();
  program.parse([...args], { from: "user" });
  const options = program.opts<TuiOptions>();
  if (options.connect !== undefined) {
    try {
      new URL(options.connect);
    } catch {
      program.error(`error: --connect needs an http URL, got '${options.connect}'`);
    }
  }
  return options;
}

/** Runs the dashboard until the user quits. */
export async function main(args: readonly string[]): Promise<void> {
  const options = parseArgs(args);
  const stop = new AbortController();
  const cleanups: (() => Promise<void> | void)[] = [];
  let store: DashboardStore;
  let note = "";

  if (options.connect !== undefined) {
    store = new DashboardStore({ status: "connecting", source: options.connect });
    const following = followMonitor(options.connect, store.dispatch, {
      signal: stop.signal,
      ...(options.token !== undefined && { token: options.token }),
    });
    cleanups.push(() => following);
  } else {
    store = new DashboardStore({ status: "local", source: "demo" });
    const pool = createDemoPool();
    const watch = watchPool(pool, store.dispatch);
    const workload = runDemoWorkload(pool, stop.signal);
    if (options.serve !== undefined) {
      const monitor = serveMonitor(pool, { port: options.serve });
      note = `serving ${monitor.url}`;
      cleanups.push(() => monitor.close());
    }
    cleanups.push(async () => {
      watch.stop();
      await pool.terminate();
      await workload;
    });
  }

  const keyboard = Deno.stdin.isTerminal();
  const app = render(
    createElement(App, { store, refreshMs: options.refresh, keyboard, note }),
    // In a CI environment Ink would fall back to printing only the last frame; a terminal
    // is a terminal, wherever it runs.
    { interactive: Deno.stdout.isTerminal(), alternateScreen: true, exitOnCtrlC: true },
  );
  // Without a keyboard (stdin piped) Ctrl+C arrives as a signal; SIGTERM too.
  const quit = () => app.unmount();
  const signals: Deno.Signal[] = keyboard ? ["SIGTERM"] : ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, quit);

  try {
    await app.waitUntilExit();
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, quit);
    stop.abort();
    for (const cleanup of cleanups) await cleanup();
  }
}

function positiveInt(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${flag} must be a positive integer of ms.`);
    }
    return n;
  };
}

function nonNegativeInt(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new InvalidArgumentError(`${flag} must be a port number (0 picks a free one).`);
    }
    return n;
  };
}

if (import.meta.main) {
  await main(Deno.args);
}
