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
import type { TuiOptions } from "./options.ts";

/** Parses the command line (`--help` prints the usage and exits). */
export function parseArgs(args: readonly string[]): TuiOptions {
  const program = new Command()
    .name("deno task tui")
    .description(
      "Live terminal dashboard of a seed pool: workers, throughput, queue, latency,\nerrors.\n\n" +
        'With no options it starts a built-in demo: a local pool named "demo" running\n' +
        "Monte Carlo π, squares, tasks of uneven length, a failing task and a\n" +
        "permission-denied task.\n\n" +
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

/**
 * Runs the dashboard until the user quits: parses `args`, then draws the demo or the
 * connected monitor.
 */
export async function main(args: readonly string[]): Promise<void> {
  const options = parseArgs(args);
  // React (loaded by Ink) picks its development build unless NODE_ENV says otherwise, and
  // that build costs the dashboard about a third more CPU per frame. So ink and react are
  // loaded only after NODE_ENV is settled.
  try {
    if (Deno.env.get("NODE_ENV") === undefined) Deno.env.set("NODE_ENV", "production");
  } catch {
    // No env permission: the development build still works, only slower.
  }
  const { runDashboard } = await import("./run.ts");
  await runDashboard(options);
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
