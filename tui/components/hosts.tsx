/** @jsxImportSourceTypes @types/react */
/**
 * The worker hosts of a cluster pool, one row each: name, joined or left, workers, busy,
 * tasks/s, completed, failed, and how long it has been up (or since it left).
 *
 * @module
 */

import { Text } from "ink";
import type { HostStats } from "../../mod.ts";
import { count, duration, fit, rate } from "../format.ts";

/** Column widths of the host table for a terminal `width` cells wide. */
export interface HostColumns {
  readonly name: number;
  readonly state: number;
  readonly workers: number;
  readonly busy: number;
  readonly rate: number;
  readonly done: number;
  readonly failed: number;
  readonly since: number;
}

const FIXED = { state: 6, workers: 7, busy: 4, rate: 7, done: 9, failed: 6 };
/** `left 12m 05s ago` fits; `up …` is shorter. */
const SINCE = 16;

/**
 * Splits `width` between the columns: the numbers keep theirs, the name takes what its
 * longest needs (between 6 and 32 cells) while the "since" column keeps its room.
 */
export function hostColumns(width: number, longestName: number): HostColumns {
  const fixed = Object.values(FIXED).reduce((a, b) => a + b, 0);
  // One leading space, one between columns, two before "since".
  const gaps = 1 + 6 + 2;
  const room = width - gaps - fixed;
  const name = Math.max(6, Math.min(32, longestName, room - SINCE));
  return { ...FIXED, name, since: Math.max(0, room - name) };
}

/** Props of `HostTable`. */
export interface HostTableProps {
  /** As the model orders them: joined first. */
  readonly hosts: readonly HostStats[];
  readonly width: number;
  /** Most lines for the rows (the column header not included). */
  readonly maxRows: number;
  /** The pool's clock (of its last snapshot), to say how long ago a host joined or left. */
  readonly time: number;
}

/** The column header, then a row per host (or as many as fit, then "… N more hosts"). */
export function HostTable({ hosts, width, maxRows, time }: HostTableProps) {
  const columns = hostColumns(width, Math.max(0, ...hosts.map((h) => [...h.name].length)));
  const fits = hosts.length <= maxRows;
  const shown = fits ? hosts : hosts.slice(0, Math.max(0, maxRows - 1));
  return (
    <>
      <Text dimColor wrap="truncate">
        {" " + fit("host", columns.name) + " " + fit("state", columns.state) + " " +
          fit("workers", columns.workers, "right") + " " + fit("busy", columns.busy, "right") +
          " " + fit("tasks/s", columns.rate, "right") + " " + fit("done", columns.done, "right") +
          " " + fit("failed", columns.failed, "right")}
      </Text>
      {hosts.length === 0 ? <Text dimColor>{` no hosts yet`}</Text> : null}
      {shown.map((host) => <HostLine key={host.name} host={host} columns={columns} time={time} />)}
      {fits ? null : <Text dimColor>{` … and ${hosts.length - shown.length} more hosts`}</Text>}
    </>
  );
}

/** Props of `HostLine`. */
export interface HostLineProps {
  readonly host: HostStats;
  readonly columns: HostColumns;
  readonly time: number;
}

/** One host's row; a host that left is drawn dim, its state in red. */
export function HostLine({ host, columns, time }: HostLineProps) {
  const left = host.state === "left";
  const since = left
    ? `left ${duration(Math.max(0, time - host.lastSeen))} ago`
    : `up ${duration(Math.max(0, time - host.joinedAt))}`;
  return (
    <Text wrap="truncate" dimColor={left}>
      {" "}
      <Text bold={!left}>{fit(host.name, columns.name)}</Text>{" "}
      <Text color={left ? "red" : "green"}>{fit(host.state, columns.state)}</Text>
      {" " + fit(String(host.workers), columns.workers, "right") + " "}
      <Text color={host.busy > 0 && !left ? "green" : "gray"}>
        {fit(String(host.busy), columns.busy, "right")}
      </Text>
      {" " + fit(left ? "-" : rate(host.throughput), columns.rate, "right") + " " +
        fit(count(host.completed), columns.done, "right") + " "}
      {host.failed > 0
        ? <Text color="red">{fit(count(host.failed), columns.failed, "right")}</Text>
        : fit("0", columns.failed, "right")}
      <Text dimColor>{"  " + fit(since, columns.since)}</Text>
    </Text>
  );
}
