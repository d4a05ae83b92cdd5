/**
 * The hosts a cluster client hears of, from their heartbeats: which are joined, how many
 * workers each lends, and the worker rows that `stats()` and the dashboard show for them.
 * A row is one of a host's worker slots as this pool sees it: the pool's task that runs
 * there now, and what the pool's tasks did there before.
 *
 * @module
 */

import type { EventSink, WorkerStatsSnapshot } from "../core/executor.ts";
import type { Isolation } from "../core/events.ts";
import type { PendingTask } from "../core/scheduler.ts";
import type { HostStats, WorkerStats } from "../core/stats.ts";
import { taskName } from "../core/task.ts";
import type { Heartbeat } from "./wire.ts";

/** A host is taken for gone when it has not been heard of for this long. */
export const HOST_SILENCE_MS = 3_000;
/** A host that left stays in `stats()` this long, then is forgotten. */
const LEFT_SHOWN_MS = 60_000;
/** Worker ids of host slot `n` are `n * ROW_IDS + i`. */
const ROW_IDS = 1024;
const WINDOW_MS = 5_000;

/** One worker slot of a host. */
export interface HostRow {
  readonly id: number;
  readonly host: HostRecord;
  task: PendingTask | null;
  busyMs: number;
  completed: number;
  failed: number;
}

/** What the client knows of one host. */
export interface HostRecord {
  readonly name: string;
  readonly slot: number;
  state: "joined" | "left";
  workers: number;
  busy: number;
  isolation: Isolation;
  readonly joinedAt: number;
  lastSeen: number;
  completed: number;
  failed: number;
  rows: HostRow[];
  samples: { time: number; finished: number }[];
}

/** What the roster tells its executor. */
export interface RosterListener {
  /** The joined hosts' workers changed: more may be published, or fewer. */
  capacityChanged(): void;
  /** A host left or fell silent: its running tasks go back to waiting for a host. */
  hostLeft(host: HostRecord): void;
}

/** The hosts of a cluster, as one pool sees them. */
export class HostRoster {
  readonly #hosts = new Map<string, HostRecord>();
  readonly #events: EventSink;
  readonly #listener: RosterListener;
  readonly #permissionsKey: string;
  #nextSlot = 0;

  constructor(events: EventSink, listener: RosterListener, permissionsKey: string) {
    this.#events = events;
    this.#listener = listener;
    this.#permissionsKey = permissionsKey;
  }

  /** Workers of the joined hosts. */
  get workers(): number {
    let workers = 0;
    for (const host of this.#hosts.values()) if (host.state === "joined") workers += host.workers;
    return workers;
  }

  /** Workers of the joined hosts not busy with any client's task, as their heartbeats say. */
  get freeWorkers(): number {
    let free = 0;
    for (const host of this.#hosts.values()) {
      if (host.state === "joined") free += Math.max(0, host.workers - host.busy);
    }
    return free;
  }

  /** The record of a host by name, if it was heard of. */
  get(name: string): HostRecord | undefined {
    return this.#hosts.get(name);
  }

  /** Folds in a heartbeat. */
  heard(beat: Heartbeat, now: number): void {
    let host = this.#hosts.get(beat.host);
    if (beat.state === "left") {
      if (host?.state === "joined") this.#leave(host, now, "closed");
      return;
    }
    if (host && host.state === "joined" && host.workers !== beat.workers) {
      this.#leave(host, now, "closed");
    }
    if (!host || host.state === "left") {
      host = this.#join(beat, now, host);
    }
    host.lastSeen = now;
    host.busy = beat.busy;
  }

  /** Marks hosts silent for {@link HOST_SILENCE_MS} as gone; forgets long-gone ones. */
  sweep(now: number): void {
    for (const host of this.#hosts.values()) {
      if (host.state === "joined" && now - host.lastSeen > HOST_SILENCE_MS) {
        this.#leave(host, now, "crashed");
      } else if (host.state === "left" && now - host.lastSeen > LEFT_SHOWN_MS) {
        this.#hosts.delete(host.name);
      }
    }
  }

  /** A row of the host `from` for a task that started there: a free one, else the first. */
  place(task: PendingTask, from: Omit<Heartbeat, "state" | "busy">, now: number): HostRow | null {
    let host = this.#hosts.get(from.host);
    // Heard of here first, or back after it was taken for gone: it is alive.
    if (host?.state !== "joined") {
      host = this.#join({ ...from, state: "joined", busy: 0 }, now, host);
    }
    host.lastSeen = now;
    const row = host.rows.find((r) => r.task === null) ?? host.rows[0] ?? null;
    if (row) row.task = task;
    return row;
  }

  /** Counts a task's outcome on its row, and frees the row. */
  finished(row: HostRow | null, task: PendingTask, ok: boolean, runMs: number): void {
    if (row === null) return;
    if (row.task === task) row.task = null;
    row.busyMs += runMs;
    if (ok) {
      row.completed++;
      row.host.completed += task.items;
    } else {
      row.failed++;
      row.host.failed += task.items;
    }
  }

  /** The rows as `stats()` shows them, and the hosts. */
  snapshot(now: number): WorkerStatsSnapshot {
    const busy = new Map<number, number>();
    const rows: HostRow[] = [];
    for (const host of this.#hosts.values()) {
      if (host.state !== "joined") continue;
      for (const row of host.rows) {
        rows.push(row);
        const running = row.task && row.task.startedAt > 0 ? now - row.task.startedAt : 0;
        busy.set(row.id, row.busyMs + Math.max(0, running));
      }
    }
    const hosts = [...this.#hosts.values()].map((host) => this.#hostStats(host, now));
    const list = (utilization: Map<number, number>): WorkerStats[] =>
      rows.map((row) => ({
        id: row.id,
        state: row.task ? "busy" : "idle",
        permissions: this.#permissionsKey,
        isolation: row.host.isolation,
        tasksCompleted: row.completed,
        tasksFailed: row.failed,
        busyMs: busy.get(row.id) ?? 0,
        utilization: utilization.get(row.id) ?? 0,
        currentTask: row.task ? taskName(row.task.definition) : null,
        host: row.host.name,
      }));
    return { busy, list, hosts };
  }

  /** Every host leaves (the pool stopped): their rows' `workerexit` events. */
  clear(now: number): void {
    for (const host of this.#hosts.values()) {
      if (host.state === "joined") this.#leave(host, now, "closed");
    }
  }

  #hostStats(host: HostRecord, now: number): HostStats {
    const finished = host.completed + host.failed;
    host.samples = host.samples.filter((s) => now - s.time <= WINDOW_MS);
    const base = host.samples[0] ?? { time: host.joinedAt, finished: 0 };
    const last = host.samples.at(-1);
    if (!last || now - last.time >= 250) host.samples.push({ time: now, finished });
    return {
      name: host.name,
      state: host.state,
      workers: host.workers,
      busy: host.busy,
      completed: host.completed,
      failed: host.failed,
      throughput: ((finished - base.finished) * 1000) / Math.max(now - base.time, 1),
      joinedAt: host.joinedAt,
      lastSeen: host.lastSeen,
    };
  }

  #join(beat: Heartbeat, now: number, previous: HostRecord | undefined): HostRecord {
    const slot = previous?.slot ?? this.#nextSlot++;
    const host: HostRecord = {
      name: beat.host,
      slot,
      state: "joined",
      workers: beat.workers,
      busy: beat.busy,
      isolation: beat.isolation,
      joinedAt: previous?.joinedAt ?? now,
      lastSeen: now,
      completed: previous?.completed ?? 0,
      failed: previous?.failed ?? 0,
      rows: [],
      samples: previous?.samples ?? [],
    };
    const rows = Math.max(1, Math.min(beat.workers, ROW_IDS));
    for (let i = 0; i < rows; i++) {
      host.rows.push({
        id: slot * ROW_IDS + i,
        host,
        task: null,
        busyMs: 0,
        completed: 0,
        failed: 0,
      });
    }
    // Known before anyone hears of its workers: a listener may look at stats() meanwhile.
    this.#hosts.set(host.name, host);
    if (this.#events.listening.workerspawn) {
      for (const row of host.rows) {
        this.#events.emit("workerspawn", {
          workerId: row.id,
          permissions: this.#permissionsKey,
          isolation: beat.isolation,
          time: now,
        });
      }
    }
    this.#listener.capacityChanged();
    return host;
  }

  #leave(host: HostRecord, now: number, reason: "closed" | "crashed"): void {
    host.state = "left";
    host.busy = 0;
    for (const row of host.rows) {
      if (this.#events.listening.workerexit) {
        this.#events.emit(
          "workerexit",
          reason === "crashed"
            ? {
              workerId: row.id,
              reason,
              error: `host ${host.name} fell silent for ${HOST_SILENCE_MS / 1000} s`,
              time: now,
            }
            : { workerId: row.id, reason, time: now },
        );
      }
    }
    this.#listener.hostLeft(host);
    for (const row of host.rows) row.task = null;
    this.#listener.capacityChanged();
  }
}
