/** @jsxImportSourceTypes @types/react */
/**
 * One row per worker: its name (its id, or `host/n` in a cluster), state, permission set,
 * current task, tasks done, a utilization bar, and its busy/idle history lane (the task
 * stream), newest at the right.
 *
 * @module
 */

import { Text } from "ink";
import type { LaneCell, WorkerRow } from "../model.ts";
import { bar, count, fit, laneGlyph, percent, shortPermissions } from "../format.ts";

/** Column widths of the worker table for a terminal `width` cells wide. */
export interface WorkerColumns {
  readonly id: number;
  readonly state: number;
  readonly permissions: number;
  readonly task: number;
  readonly done: number;
  readonly bar: number;
  readonly lane: number;
}

/**
 * Splits `width` between the columns: at 80 cells every column has its minimum and the lane
 * gets 20; wider terminals widen permissions and task names first, then the lane. `idWidth`
 * is what the longest worker name needs (3 for a local pool's ids; more for `host/n`).
 */
export function workerColumns(width: number, maxLane: number, idWidth = 3): WorkerColumns {
  // Single spaces between columns, one leading space, " 100%" after the bar.
  const gaps = 7 + 5;
  const base = { id: idWidth, state: 8, permissions: 10, task: 14, done: 5, bar: 8 };
  let spare = width - gaps - Object.values(base).reduce((a, b) => a + b, 0) - 20;
  if (spare < 0) {
    // Narrower than 80: the lane gives way first, then task names.
    const lane = Math.max(0, 20 + spare);
    const task = Math.max(6, base.task + Math.min(0, 20 + spare));
    return { ...base, task, lane };
  }
  // Names and the bar take a quarter of the extra room each (up to a point); the lane, the
  // part that shows history, takes the rest.
  const grow = (limit: number) => {
    const extra = Math.min(limit, Math.floor(spare / 4));
    spare -= extra;
    return extra;
  };
  const permissions = base.permissions + grow(14);
  const task = base.task + grow(10);
  const barWidth = base.bar + grow(6);
  return {
    ...base,
    permissions,
    task,
    bar: barWidth,
    lane: Math.min(maxLane, 20 + spare),
  };
}

/** Props of `WorkerTable`. */
export interface WorkerTableProps {
  readonly workers: readonly WorkerRow[];
  readonly width: number;
  /** Most lines for the rows (the column header not included). */
  readonly maxRows: number;
  /** Most lane cells kept by the model. */
  readonly maxLane: number;
}

/** The column header, then a row per worker (or as many as fit, then "… N more"). */
export function WorkerTable({ workers, width, maxRows, maxLane }: WorkerTableProps) {
  // A cluster's workers are named by host: the column grows for them (up to a point).
  const named = workers.some((w) => w.host !== undefined);
  const longest = Math.max(0, ...workers.map((w) => [...w.name].length));
  const columns = workerColumns(width, maxLane, named ? Math.min(MAX_NAME, longest) : 3);
  const fits = workers.length <= maxRows;
  const shown = fits ? workers : workers.slice(0, Math.max(0, maxRows - 1));
  return (
    <>
      <Text dimColor wrap="truncate">
        {" " + fit(named ? "worker" : "id", columns.id, named ? "left" : "right") + " " +
          fit("state", columns.state) + " " +
          fit("perms", columns.permissions) + " " + fit("task", columns.task) + " " +
          fit("done", columns.done, "right") + " " + fit("util", columns.bar + 5) +
          (columns.lane > 0 ? " " + fit(`history (${columns.lane}s)`, columns.lane, "right") : "")}
      </Text>
      {workers.length === 0 ? <Text dimColor>{` no workers yet`}</Text> : null}
      {shown.map((worker) => <WorkerLine key={worker.id} worker={worker} columns={columns} />)}
      {fits ? null : <Text dimColor>{` … and ${workers.length - shown.length} more workers`}</Text>}
    </>
  );
}

/** The widest worker name column; a longer host name is cut, keeping its `/n`. */
const MAX_NAME = 20;

const STATE_COLORS = {
  starting: "yellow",
  idle: "gray",
  busy: "green",
  exiting: "magenta",
  gone: "gray",
} as const;

/** Props of `WorkerLine`. */
export interface WorkerLineProps {
  readonly worker: WorkerRow;
  readonly columns: WorkerColumns;
}

/** One worker's row. */
export function WorkerLine({ worker, columns }: WorkerLineProps) {
  const gone = worker.state === "gone";
  return (
    <Text wrap="truncate" dimColor={gone}>
      {" " + (worker.host === undefined
        ? fit(worker.name, columns.id, "right")
        : fitKeepingIndex(worker.name, columns.id)) +
        " "}
      <Text color={STATE_COLORS[worker.state]}>
        {fit(gone ? "exited" : worker.state, columns.state)}
      </Text>{" "}
      <Text color={worker.permissions === "inherit" ? "gray" : "cyan"}>
        {fit(
          worker.permissions.length <= columns.permissions
            ? worker.permissions
            : shortPermissions(worker.permissions),
          columns.permissions,
        )}
      </Text>{" "}
      <Text bold={worker.currentTask !== null}>
        {fit(worker.currentTask ?? "-", columns.task)}
      </Text>
      {" " + fit(count(worker.tasksCompleted + worker.tasksFailed), columns.done, "right") + " "}
      <Text color="green">{bar(worker.utilization, columns.bar)}</Text>
      {fit(percent(worker.utilization), 5, "right")}
      {columns.lane > 0 ? " " : ""}
      {columns.lane > 0 ? <Lane cells={worker.lane} width={columns.lane} /> : null}
    </Text>
  );
}

/** `host/n` cut to `width` in its host part, so that workers of one host stay apart. */
function fitKeepingIndex(name: string, width: number): string {
  const slash = name.lastIndexOf("/");
  const chars = [...name];
  if (chars.length <= width || slash < 0) return fit(name, width);
  const index = name.slice(slash);
  return fit(name.slice(0, slash), Math.max(1, width - [...index].length)) + index;
}

/** Props of `Lane`. */
export interface LaneProps {
  readonly cells: readonly LaneCell[];
  readonly width: number;
}

/**
 * A worker's recent history, one cell per tick, newest at the right: `·` idle, a block as
 * high as the tick was busy, red where a task failed.
 */
export function Lane({ cells, width }: LaneProps) {
  const recent = cells.slice(-width);
  // Consecutive cells of one color are drawn as one Text, to keep frames cheap.
  const runs: { color: "red" | "green" | "gray"; text: string }[] = [];
  for (const cell of recent) {
    const color = cell.failed ? "red" : cell.busy > 0 ? "green" : "gray";
    const glyph = cell.failed && cell.busy <= 0 ? "✗" : laneGlyph(cell.busy);
    const last = runs.at(-1);
    if (last && last.color === color) last.text += glyph;
    else runs.push({ color, text: glyph });
  }
  return (
    <>
      {" ".repeat(width - recent.length)}
      {runs.map((run, i) => <Text key={i} color={run.color}>{run.text}</Text>)}
    </>
  );
}
