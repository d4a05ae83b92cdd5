/** @jsxImportSourceTypes @types/react */
/**
 * The live shell around `Dashboard`: reads the store once per refresh, follows the terminal's
 * size, and quits on `q` or Ctrl+C.
 *
 * @module
 */

import { useApp, useInput, useWindowSize } from "ink";
import { useEffect, useState } from "react";
import type { DashboardStore } from "../store.ts";
import { Dashboard } from "./dashboard.tsx";

/** Props of `App`. */
export interface AppProps {
  readonly store: DashboardStore;
  readonly refreshMs: number;
  /** Whether stdin is a terminal we can read keys from (false when piped). */
  readonly keyboard: boolean;
  /** Extra text for the footer, e.g. where the demo serves its monitor. */
  readonly note?: string;
}

/** The running dashboard. */
export function App({ store, refreshMs, keyboard, note = "" }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useWindowSize();
  const [frame, setFrame] = useState(() => ({
    view: store.state.view,
    version: store.version,
    now: Date.now(),
  }));

  useEffect(() => {
    const timer = setInterval(() => {
      setFrame((previous) => {
        // Redraw only when something changed, or to count down a reconnect.
        const counting = store.state.view.connection.status === "disconnected";
        if (previous.version === store.version && !counting) return previous;
        return { view: store.state.view, version: store.version, now: Date.now() };
      });
    }, refreshMs);
    return () => clearInterval(timer);
  }, [store, refreshMs]);

  useInput((input, key) => {
    if (input === "q" || (key.ctrl && input === "c")) exit();
  }, { isActive: keyboard });

  return (
    <Dashboard
      view={frame.view}
      width={columns}
      height={rows}
      now={frame.now}
      refreshMs={refreshMs}
      note={note}
    />
  );
}
