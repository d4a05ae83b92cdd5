/**
 * Draws the dashboard in the terminal: sets up the data source (the demo's local pool, or a
 * monitor to follow), renders with Ink, and tears everything down when the user quits.
 *
 * @module
 */

import { render } from "ink";
import { createElement } from "react";
import { serveMonitor, watchPool } from "../monitor.ts";
import { followMonitor } from "./client.ts";
import { App } from "./components/app.tsx";
import { createDemoPool, runDemoWorkload } from "./demo.ts";
import type { TuiOptions } from "./options.ts";
import { DashboardStore } from "./store.ts";

/** Runs the dashboard with parsed options until the user quits. */
export async function runDashboard(options: TuiOptions): Promise<void> {
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
    {
      interactive: Deno.stdout.isTerminal(),
      alternateScreen: true,
      exitOnCtrlC: true,
    },
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
