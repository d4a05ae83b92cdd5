/** @jsxImportSourceTypes @types/react */
/**
 * The whole dashboard for a terminal of a given size: header, workers, throughput, latency,
 * recent errors, and a footer. Props in, frame out: it reads nothing but its props.
 *
 * @module
 */

import { Box, Text } from "ink";
import { type DashboardView, LANE_CELLS, THROUGHPUT_SAMPLES, TICK_MS } from "../model.ts";
import { count, rate } from "../format.ts";
import { Header } from "./header.tsx";
import { SectionTitle } from "./section.tsx";
import { WorkerTable } from "./workers.tsx";
import { Throughput } from "./throughput.tsx";
import { Latency } from "./latency.tsx";
import { ErrorList } from "./errors.tsx";

/** Props of `Dashboard`. */
export interface DashboardProps {
  readonly view: DashboardView;
  /** Terminal columns. */
  readonly width: number;
  /** Terminal rows. */
  readonly height: number;
  /** The local clock (for countdowns). */
  readonly now: number;
  /** Shown in the footer. */
  readonly refreshMs: number;
  /** Extra footer text. */
  readonly note?: string;
}

/** How the rows of a terminal are shared between the sections. */
export interface DashboardLayout {
  readonly workerRows: number;
  readonly sparklineRows: number;
  readonly errorRows: number;
}

/** Fixed lines: header 2, worker title + column header, throughput title, latency, errors title, footer. */
const FIXED_LINES = 8;

/**
 * Shares `height` rows: workers first (all of them if they fit), then two error lines, one
 * sparkline row; what is left grows the sparkline (up to 4 rows) and then the error list.
 * One row stays free so the frame never fills the screen (which makes terminals scroll).
 */
export function dashboardLayout(height: number, workers: number): DashboardLayout {
  const rows = Math.max(0, height - 1 - FIXED_LINES);
  const minErrors = 2;
  let sparklineRows = 1;
  const workerRows = Math.max(1, Math.min(Math.max(1, workers), rows - sparklineRows - minErrors));
  let spare = Math.max(0, rows - workerRows - sparklineRows - minErrors);
  const growSparkline = spare >= 12 ? 3 : spare >= 8 ? 2 : spare >= 4 ? 1 : 0;
  sparklineRows += growSparkline;
  spare -= growSparkline;
  return { workerRows, sparklineRows, errorRows: minErrors + spare };
}

/** The dashboard. */
export function Dashboard({ view, width, height, now, refreshMs, note = "" }: DashboardProps) {
  const layout = dashboardLayout(height, view.workers.length);
  const pool = view.pool;
  const samples = view.throughputHistory.length;
  return (
    <Box flexDirection="column" width={width} height={Math.max(1, height - 1)}>
      <Header pool={pool} connection={view.connection} width={width} now={now} />
      <SectionTitle
        title="workers"
        detail={pool ? `${view.workers.length}/${pool.size}` : ""}
        width={width}
      />
      <WorkerTable
        workers={view.workers}
        width={width}
        maxRows={layout.workerRows}
        maxLane={LANE_CELLS}
      />
      <SectionTitle
        title="throughput"
        detail={pool
          ? `${rate(pool.throughput)} tasks/s · queue ${count(pool.queued)} · last ${
            Math.min(samples, THROUGHPUT_SAMPLES)
          }s`
          : ""}
        width={width}
      />
      <Throughput history={view.throughputHistory} width={width} height={layout.sparklineRows} />
      {pool
        ? <Latency waitMs={pool.latency.waitMs} runMs={pool.latency.runMs} width={width} />
        : <Text dimColor>{` latency -`}</Text>}
      <SectionTitle
        title="recent errors"
        detail={view.errors.length > 0
          ? `(${view.errors.length}${view.errors.length >= 50 ? "+" : ""})`
          : ""}
        width={width}
      />
      <ErrorList errors={view.errors} width={width} maxRows={layout.errorRows} />
      <Box flexGrow={1} />
      <Text dimColor wrap="truncate">
        {` q quit · refresh ${refreshMs}ms`}
        {note ? ` · ${note}` : ""}
        {view.sampledAt > 0 && view.time - view.sampledAt < 2 * TICK_MS
          ? " · busy: events sampled, totals exact"
          : ""}
      </Text>
    </Box>
  );
}
