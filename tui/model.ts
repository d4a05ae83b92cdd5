/**
 * The dashboard's state as a pure function of what the pool reports: `reduce` folds
 * snapshots, event batches and connection changes into a view model the components draw.
 * Nothing here reads a clock, a terminal or a pool; every time comes from the messages.
 *
 * @module
 */

import type { MonitorMessage, PoolEventRecord } from "../monitor.ts";
import type { HostStats, PoolStats, WorkerStats } from "../mod.ts";

/** One lane tick: a cell of a worker's history and one sample of the throughput sparkline. */
export const TICK_MS = 1000;
/** How many lane cells each worker keeps (the widest terminal shows this many). */
export const LANE_CELLS = 120;
/** How many throughput samples are kept: one per tick over the last minute. */
export const THROUGHPUT_SAMPLES = 60;
/** How many recent errors are kept. */
export const MAX_ERRORS = 50;

export type {
  ConnectionView,
  DashboardView,
  ErrorRow,
  LaneCell,
  PoolView,
  WorkerRow,
} from "./view.ts";
import type { ConnectionView, DashboardView, ErrorRow, LaneCell, WorkerRow } from "./view.ts";

/** What the reducer remembers to turn a tick's events and snapshots into lane cells. */
interface WorkerTrack {
  /** When its current task started (pool clock), or null when idle. */
  readonly runningSince: number | null;
  /** Busy time inside the current tick from tasks that ended in it. */
  readonly busyInTick: number;
  /** `busyMs` of the snapshot that closed the last tick (undefined before one). */
  readonly busyMsAtTick: number | undefined;
  /** Latest `busyMs` seen. */
  readonly busyMs: number;
  readonly failedAtTick: number;
}

/** The reducer's whole state: the view, and the bookkeeping behind the lanes. */
export interface DashboardState {
  readonly view: DashboardView;
  readonly tracks: ReadonlyMap<number, WorkerTrack>;
  /** Start of the current tick (pool clock), 0 before the first snapshot. */
  readonly tickStart: number;
  /** `completed + failed` at the start of the current tick. */
  readonly finishedAtTick: number;
  /** Uptime at the last snapshot, to notice a restarted pool behind the same URL. */
  readonly lastUptimeMs: number;
}

/** What the reducer consumes: a monitor message, or a change of connection. */
export type DashboardAction =
  | MonitorMessage
  | { readonly type: "connection"; readonly connection: ConnectionView };

/**
 * The state before anything arrived.
 *
 * @example
 * ```ts
 * import { initialState } from "./model.ts";
 * import assert from "node:assert/strict";
 *
 * const state = initialState({ status: "connecting", source: "http://127.0.0.1:8080/" });
 * assert.equal(state.view.pool, null);
 * assert.deepEqual(state.view.workers, []);
 * ```
 */
export function initialState(connection: ConnectionView): DashboardState {
  return {
    view: {
      connection,
      pool: null,
      workers: [],
      hosts: null,
      throughputHistory: [],
      errors: [],
      sampledAt: 0,
      time: 0,
    },
    tracks: new Map(),
    tickStart: 0,
    finishedAtTick: 0,
    lastUptimeMs: 0,
  };
}

/**
 * Folds one action into the state. Pure: the input state is never changed.
 *
 * @example
 * ```ts
 * import { initialState, reduce } from "./model.ts";
 * import assert from "node:assert/strict";
 *
 * const before = initialState({ status: "local", source: "demo" });
 * const after = reduce(before, {
 *   type: "connection",
 *   connection: { status: "connected", source: "demo" },
 * });
 * assert.equal(after.view.connection.status, "connected");
 * assert.equal(before.view.connection.status, "local"); // the input state is unchanged
 * ```
 */
export function reduce(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case "connection":
      return { ...state, view: { ...state.view, connection: action.connection } };
    case "events":
      return reduceEvents(state, action.events, action.truncated.length > 0);
    case "snapshot":
      return reduceSnapshot(state, action.stats);
  }
}

function reduceEvents(
  state: DashboardState,
  events: readonly PoolEventRecord[],
  truncated: boolean,
): DashboardState {
  const workers = new Map(state.view.workers.map((w) => [w.id, w]));
  const tracks = new Map(state.tracks);
  let pool = state.view.pool;
  let errors = state.view.errors;
  const newErrors: ErrorRow[] = [];
  let time = state.view.time;

  for (const event of events) {
    time = Math.max(time, event.detail.time);
    switch (event.type) {
      case "workerspawn": {
        const d = event.detail;
        const old = workers.get(d.workerId);
        workers.set(d.workerId, {
          id: d.workerId,
          // Its host (if any) arrives with the next snapshot.
          name: old?.name ?? String(d.workerId),
          ...(old?.host !== undefined && { host: old.host }),
          state: "starting",
          permissions: d.permissions,
          isolation: d.isolation,
          currentTask: null,
          tasksCompleted: 0,
          tasksFailed: 0,
          utilization: 0,
          lane: old?.lane ?? [],
        });
        tracks.set(d.workerId, freshTrack());
        break;
      }
      case "workerexit": {
        const d = event.detail;
        const row = workers.get(d.workerId);
        if (row) workers.set(d.workerId, { ...row, state: "gone", currentTask: null });
        if (d.reason === "crashed") {
          newErrors.push({
            time: d.time,
            task: `worker ${row?.name ?? d.workerId}`,
            workerId: d.workerId,
            ...hostWorker(row),
            name: "WorkerCrashError",
            message: d.error ?? "the worker died",
          });
        }
        break;
      }
      case "taskqueued":
        if (pool) pool = { ...pool, queued: event.detail.queued };
        break;
      case "taskstart": {
        const d = event.detail;
        const row = workers.get(d.workerId);
        if (row) workers.set(d.workerId, { ...row, state: "busy", currentTask: d.task });
        tracks.set(d.workerId, {
          ...(tracks.get(d.workerId) ?? freshTrack()),
          runningSince: d.time,
        });
        if (pool) pool = { ...pool, queued: Math.max(0, pool.queued - 1) };
        break;
      }
      case "taskend": {
        const d = event.detail;
        if (pool) {
          // Counted in items, as stats() counts them: a map chunk of n items is n.
          pool = d.ok
            ? { ...pool, completed: pool.completed + d.items }
            : d.cancelled
            ? { ...pool, cancelled: pool.cancelled + d.items }
            : { ...pool, failed: pool.failed + d.items };
        }
        const row = workers.get(d.workerId);
        if (!d.ok) {
          newErrors.push({
            time: d.time,
            task: d.task,
            workerId: d.workerId,
            ...hostWorker(row),
            // A task's own error is shown by what it threw (NotCapable, SyntaxError, …).
            name: d.error?.name === "TaskError" && d.error.cause
              ? d.error.cause
              : d.error?.name ?? "Error",
            message: d.error?.message ?? "",
          });
        }
        if (!row) break;
        workers.set(d.workerId, {
          ...row,
          state: row.state === "gone" ? "gone" : "idle",
          currentTask: null,
          tasksCompleted: row.tasksCompleted + (d.ok ? 1 : 0),
          tasksFailed: row.tasksFailed + (d.ok ? 0 : 1),
        });
        const track = tracks.get(d.workerId) ?? freshTrack();
        // Only the part of the run inside the current tick counts towards its cell.
        const inTick = Math.max(0, d.time - Math.max(d.time - d.runMs, state.tickStart));
        tracks.set(d.workerId, {
          ...track,
          runningSince: null,
          busyInTick: track.busyInTick + inTick,
        });
        break;
      }
    }
  }
  if (newErrors.length > 0) {
    errors = [...newErrors.reverse(), ...errors].slice(0, MAX_ERRORS);
  }
  return {
    ...state,
    tracks,
    view: {
      ...state.view,
      pool,
      workers: [...workers.values()],
      errors,
      sampledAt: truncated ? time : state.view.sampledAt,
      time,
    },
  };
}

function reduceSnapshot(previous: DashboardState, stats: PoolStats): DashboardState {
  // A different pool, or the same URL serving a restarted one: its history is not ours.
  const restarted = previous.view.pool !== null &&
    (stats.name !== previous.view.pool.name || stats.uptimeMs < previous.lastUptimeMs);
  const state = restarted ? { ...initialState(previous.view.connection) } : previous;

  const finished = stats.completed + stats.failed;
  const oldRows = new Map(state.view.workers.map((w) => [w.id, w]));
  const tracks = new Map<number, WorkerTrack>();
  const names = workerNames(stats.workers);
  let workers: WorkerRow[] = stats.workers.map((w) => {
    const old = oldRows.get(w.id);
    const track = state.tracks.get(w.id) ?? freshTrack();
    const busy = w.state === "busy";
    tracks.set(w.id, {
      ...track,
      // The snapshot is the truth about who is running now; an unseen start (its event
      // dropped from a full batch) is dated to this snapshot.
      runningSince: busy ? track.runningSince ?? stats.time : null,
      busyMs: w.busyMs,
    });
    return {
      id: w.id,
      name: names.get(w.id) ?? String(w.id),
      ...(w.host !== undefined && { host: w.host }),
      state: w.state,
      permissions: w.permissions,
      isolation: w.isolation,
      currentTask: w.currentTask,
      tasksCompleted: w.tasksCompleted,
      tasksFailed: w.tasksFailed,
      utilization: w.utilization,
      lane: old?.lane ?? [],
    };
  });

  let { tickStart, finishedAtTick } = state;
  let throughputHistory = state.view.throughputHistory;
  if (tickStart === 0) {
    tickStart = stats.time;
    finishedAtTick = finished;
    for (const [id, track] of tracks) {
      tracks.set(id, { ...track, busyMsAtTick: track.busyMs, failedAtTick: failedOf(workers, id) });
    }
  } else if (stats.time - tickStart >= TICK_MS) {
    const span = stats.time - tickStart;
    throughputHistory = [
      ...throughputHistory,
      Math.max(0, ((finished - finishedAtTick) * 1000) / span),
    ].slice(-THROUGHPUT_SAMPLES);
    workers = workers.map((row) => {
      const track = tracks.get(row.id)!;
      const fromEvents = track.busyInTick +
        (track.runningSince === null ? 0 : stats.time - Math.max(track.runningSince, tickStart));
      const fromSnapshots = track.busyMsAtTick === undefined
        ? 0
        : track.busyMs - track.busyMsAtTick;
      // Events are exact but may be dropped under load; busyMs deltas may lag a running
      // task. Each only ever underestimates, so the larger is the better estimate.
      const cell: LaneCell = {
        busy: clamp01(Math.max(fromEvents, fromSnapshots) / span),
        failed: row.tasksFailed > track.failedAtTick,
      };
      tracks.set(row.id, {
        ...track,
        busyInTick: 0,
        busyMsAtTick: track.busyMs,
        failedAtTick: row.tasksFailed,
      });
      return { ...row, lane: [...row.lane, cell].slice(-LANE_CELLS) };
    });
    tickStart = stats.time;
    finishedAtTick = finished;
  }

  return {
    tracks,
    tickStart,
    finishedAtTick,
    lastUptimeMs: stats.uptimeMs,
    view: {
      ...state.view,
      pool: {
        name: stats.name,
        size: stats.size,
        isolation: stats.isolation,
        state: stats.state,
        uptimeMs: stats.uptimeMs,
        completed: stats.completed,
        failed: stats.failed,
        // A monitor of an older pool has no such counter.
        cancelled: stats.cancelled ?? 0,
        queued: stats.queued,
        running: stats.running,
        throughput: stats.throughput,
        utilization: stats.utilization,
        latency: stats.latency,
      },
      workers,
      hosts: stats.hosts ? sortHosts(stats.hosts) : null,
      throughputHistory,
      time: stats.time,
    },
  };
}

/**
 * The workers' names: a local worker by its id; a cluster worker by its host and its rank
 * there (`alpha/1`, `alpha/2`, …, by id), short and stable while the host stays.
 */
function workerNames(workers: readonly WorkerStats[]): Map<number, string> {
  const byHost = new Map<string, number[]>();
  for (const w of workers) {
    if (w.host !== undefined) byHost.set(w.host, [...(byHost.get(w.host) ?? []), w.id]);
  }
  const names = new Map<number, string>();
  for (const [host, ids] of byHost) {
    ids.sort((a, b) => a - b).forEach((id, i) => names.set(id, `${host}/${i + 1}`));
  }
  return names;
}

function sortHosts(hosts: readonly HostStats[]): HostStats[] {
  return [...hosts].sort((a, b) =>
    a.state !== b.state
      ? (a.state === "joined" ? -1 : 1)
      : a.state === "joined"
      ? a.name.localeCompare(b.name)
      : b.lastSeen - a.lastSeen
  );
}

/** An error's worker name, when the worker runs on a cluster host. */
function hostWorker(row: WorkerRow | undefined): { worker?: string } {
  return row?.host === undefined ? {} : { worker: row.name };
}

function freshTrack(): WorkerTrack {
  return {
    runningSince: null,
    busyInTick: 0,
    busyMsAtTick: undefined,
    busyMs: 0,
    failedAtTick: 0,
  };
}

function failedOf(workers: readonly WorkerRow[], id: number): number {
  return workers.find((w) => w.id === id)?.tasksFailed ?? 0;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
