/** @jsxImportSourceTypes @types/react */
/**
 * The whole dashboard for a terminal of a given size: header, hosts (a cluster pool's only),
 * workers, throughput, latency, recent errors, and a footer. Props in, frame out: it reads
 * nothing but its props.
 *
 * @module
 */

import { Box, Text } from "ink";
import type { HostStats } from "../../mod.ts";
import { type DashboardView, LANE_CELLS, THROUGHPUT_SAMPLES, TICK_MS } from "../model.ts";
import { count, rate } from "../format.ts";
import { Header } from "./header.tsx";
import { SectionTitle } from "./section.tsx";
import { WorkerTable } from "./workers.tsx";
import { HostTable } from "./hosts.tsx";
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
  /** 0 for a local pool: no hosts section at all. */
  readonly hostRows: number;
  readonly workerRows: number;
  readonly sparklineRows: number;
  readonly errorRows: number;
}

/** Fixed lines: header 2, worker title + column header, throughput title, latency, errors title, footer. */
const FIXED_LINES = 8;
/** A cluster pool's hosts section adds its title and column header. */
const HOST_FIXED_LINES = 2;

/**
 * Shares `height` rows: hosts first (a cluster pool's; there are few), then workers (all of
 * them if they fit), then two error lines, one sparkline row; what is left grows the
 * sparkline (up to 4 rows) and then the error list. One row stays free so the frame never
 * fills the screen (which makes terminals scroll).
 *
 * @param hosts The number of hosts; undefined for a local pool (no hosts section).
 */
export function dashboardLayout(
  height: number,
  workers: number,
  hosts?: number,
): DashboardLayout {
  let rows = Math.max(0, height - 1 - FIXED_LINES);
  const minErrors = 2;
  let sparklineRows = 1;
  let hostRows = 0;
  if (hosts !== undefined) {
    rows = Math.max(0, rows - HOST_FIXED_LINES);
    // Leaves a worker row, the sparkline and the errors their minimum.
    hostRows = Math.max(1, Math.min(Math.max(1, hosts), rows - 1 - sparklineRows - minErrors));
    rows = Math.max(0, rows - hostRows);
  }
  const workerRows = Math.max(1, Math.min(Math.max(1, workers), rows - sparklineRows - minErrors));
  let spare = Math.max(0, rows - workerRows - sparklineRows - minErrors);
  const growSparkline = spare >= 12 ? 3 : spare >= 8 ? 2 : spare >= 4 ? 1 : 0;
  sparklineRows += growSparkline;
  spare -= growSparkline;
  return { hostRows, workerRows, sparklineRows, errorRows: minErrors + spare };
}

/** The dashboard. */
export function Dashboard({ view, width, height, now, refreshMs, note = "" }: DashboardProps) {
  const hosts = view.hosts;
  const layout = dashboardLayout(height, view.workers.length, hosts?.length);
  const pool = view.pool;
  const samples = view.throughputHistory.length;
  return (
    <Box flexDirection="column" width={width} height={Math.max(1, height - 1)}>
      <Header pool={pool} connection={view.connection} width={width} now={now} />
      {hosts
        ? (
          <>
            <SectionTitle title="hosts" detail={hostsDetail(hosts)} width={width} />
            <HostTable hosts={hosts} width={width} maxRows={layout.hostRows} time={view.time} />
          </>
        )
        : null}
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

/** `2 joined · 1 left`. */
function hostsDetail(hosts: readonly HostStats[]): string {
  const joined = hosts.filter((h) => h.state === "joined").length;
  const left = hosts.length - joined;
  return `${joined} joined${left > 0 ? ` · ${left} left` : ""}`;
}
