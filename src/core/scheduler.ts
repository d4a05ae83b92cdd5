/**
 * The queue and the policy: tasks wait in one lane per permission set, and a worker is sent
 * tasks beyond the one it runs only while all it holds could not last more than
 * {@link BATCH_TARGET_MS}, judged by each function's recent peak run time as workers report
 * it. Tiny tasks then travel hundreds to a message; any other one waits in the pool until a
 * worker is free, so no task waits behind another while a worker that could run it is idle.
 *
 * @module
 */

import { Fifo } from "../util/_fifo.ts";
import { binaryBytes } from "../wire/_payload.ts";
import type { CanonicalPermissions, PermissionsKey } from "../permissions/descriptor.ts";
import type { CallMode, FunctionDefinition } from "../wire/protocol.ts";
import type { WorkerHandle } from "./worker_handle.ts";

/** What a job (one call: an apply, a map, an imap) does with its tasks' outcomes. */
export interface Job {
  /** Its index among the pool's unfinished jobs (see `SlotList`); -1 before and after. */
  slot: number;
  /** A task of this job finished. */
  complete(task: PendingTask, value: unknown): void;
  /** A task of this job failed, or (task null) the whole call did: cancelled, closed. */
  fail(task: PendingTask | null, error: unknown): void;
}

/** Where a task is in its life. */
export type TaskState = "queued" | "sent" | "done";

/** One unit of work: a call, or one chunk of a map. */
export interface PendingTask {
  readonly id: number;
  readonly job: Job;
  /** Position of the chunk in its job (its first item's index for map chunks). */
  readonly index: number;
  readonly definition: FunctionDefinition;
  readonly mode: CallMode;
  readonly args: readonly unknown[];
  readonly transfer: Transferable[] | undefined;
  /** Items this task carries: 1 for apply, the chunk's length for map. */
  readonly items: number;
  readonly lane: Lane;
  /** Wall-clock ms when it was queued. */
  readonly queuedAt: number;
  state: TaskState;
  worker: WorkerHandle | null;
  /**
   * The longest it may run, ms (see `RunTimeEstimates.peakMs`), counted against what its
   * worker holds while it is in flight.
   */
  peakMs: number;
  /** Wall-clock ms when it became the task its worker is running. */
  startedAt: number;
  /** About how many bytes of binary data its arguments hold (see `binaryBytes`). */
  readonly bytes: number;
}

/** What a new task is made of: the rest of a {@link PendingTask} is the dispatcher's. */
export type TaskSpec = Pick<
  PendingTask,
  "job" | "index" | "definition" | "mode" | "args" | "transfer" | "items" | "lane"
>;

/** The tasks and workers of one permission set. */
export class Lane {
  /** Tasks in the order they came; cancelled ones stay until the dispatcher passes them. */
  readonly queue = new Fifo<PendingTask>();
  /** Tasks of this lane in the state "queued": what its queue holds that still counts. */
  queued = 0;
  /** An array, not a Set: the dispatcher walks it on every dispatch, allocating nothing. */
  readonly workers: WorkerHandle[] = [];
  /** Workers of this lane that died in a row before they were ready. */
  failedStarts = 0;
  constructor(
    readonly key: PermissionsKey,
    /** `undefined` for the pool's default set, which passes no permission option. */
    readonly permissions: CanonicalPermissions | undefined,
  ) {}
}

/** An executor's lanes: by key, and in the order they were made (walked on every dispatch). */
export class Lanes {
  readonly #byKey = new Map<string, Lane>();
  /** An array, not the map's values: walked on every dispatch, allocating nothing. */
  readonly list: Lane[] = [];

  /** The lane of a permission set, made on first use. */
  get(key: PermissionsKey, permissions: CanonicalPermissions | undefined): Lane {
    let lane = this.#byKey.get(key);
    if (!lane) {
      lane = new Lane(key, permissions);
      this.#byKey.set(key, lane);
      this.list.push(lane);
    }
    return lane;
  }
}

/** A new task of `spec`, not queued yet: the executor gives its id and when it was queued. */
export function pendingTask(id: number, spec: TaskSpec, queuedAt: number): PendingTask {
  return {
    id,
    job: spec.job,
    index: spec.index,
    definition: spec.definition,
    mode: spec.mode,
    args: spec.args,
    transfer: spec.transfer,
    items: spec.items,
    lane: spec.lane,
    queuedAt,
    state: "queued",
    worker: null,
    peakMs: 0,
    startedAt: 0,
    bytes: binaryBytes(spec.args),
  };
}

/**
 * A worker holds tasks beyond the one it runs only while everything it holds could not last
 * longer than this: the most a task sent ahead can wait behind its worker's others.
 */
export const BATCH_TARGET_MS = 2;
/** How long a task of a function never measured may run: as good as forever. */
const UNKNOWN_PEAK_MS = 1e9;
/**
 * How fast a function's peak run time forgets a long call, per later call: one long call
 * in twenty keeps the function from ever counting as tiny; a lone spike (a GC pause) is
 * forgotten after a few dozen calls.
 */
const PEAK_DECAY = 0.9;
/** At most this many tasks in flight per worker, however tiny. */
export const MAX_IN_FLIGHT = 1024;
/** At most this many tasks in one message. */
export const MAX_BATCH = 128;
/** At most about this many bytes of binary arguments in one message (more: one task). */
export const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The automatic chunk size never exceeds this: past a few thousand items a chunk is no
 * cheaper per item, and smaller chunks let the pool copy one while a worker runs another.
 */
export const MAX_CHUNK = 4096;

/** Learns how long each function's items take, to size batches and chunks. */
export class RunTimeEstimates {
  readonly #perItemMs = new Map<number, number>();
  readonly #peakPerItemMs = new Map<number, number>();

  /** Folds in one finished task: an exponentially weighted average, and a decaying peak. */
  observe(fnId: number, runMs: number, items: number): void {
    const sample = runMs / Math.max(items, 1);
    const previous = this.#perItemMs.get(fnId);
    // Bounded as the definitions are (src/core/task.ts): the oldest function is forgotten.
    if (previous === undefined && this.#perItemMs.size >= 4096) {
      this.#perItemMs.delete(this.#perItemMs.keys().next().value!);
    }
    this.#perItemMs.set(fnId, previous === undefined ? sample : previous * 0.8 + sample * 0.2);
    const peak = this.#peakPerItemMs.get(fnId);
    this.#peakPerItemMs.set(
      fnId,
      peak === undefined ? sample : Math.max(sample, peak * PEAK_DECAY),
    );
  }

  /**
   * The longest a task may be expected to run, ms: its items times the function's recent
   * peak per item. A function never measured may run for ever, so its tasks travel alone
   * until one has come back; so do a heavy-tailed function's, whose peak stays high.
   */
  peakMs(task: PendingTask): number {
    const perItem = this.#peakPerItemMs.get(task.definition.fnId);
    return perItem === undefined ? UNKNOWN_PEAK_MS : perItem * task.items;
  }

  /**
   * Items per chunk for a map of `length` items (or an endless stream when undefined) on
   * `workers` workers: Python's choice, four chunks per worker, made smaller when items
   * are known to be slow (so work stays balanced) and, for streams, grown when they are
   * known to be fast (so tiny items do not travel one by one). Items holding `itemBytes` of
   * binary data each go at most {@link MAX_BATCH_BYTES} to a chunk, so a worker starts on
   * the first while the next is copied (bench W6: 64 × 1 MiB arrays, chunks of 8 → 1).
   */
  chunksize(fnId: number, length: number | undefined, workers: number, itemBytes = 0): number {
    const perItem = this.#perItemMs.get(fnId);
    let chunk: number;
    if (length === undefined) {
      chunk = perItem === undefined ? 1 : clamp(Math.floor(1 / Math.max(perItem, 1e-6)), 1, 4096);
    } else {
      chunk = Math.min(MAX_CHUNK, Math.max(1, Math.ceil(length / (workers * 4))));
      if (perItem !== undefined && perItem > 0) {
        chunk = Math.min(chunk, Math.max(1, Math.floor(20 / perItem)));
      } else if (perItem === undefined && length <= workers * 64) {
        // Few items of unknown cost: one each keeps every worker busy.
        chunk = 1;
      }
    }
    if (itemBytes > 0) {
      chunk = Math.min(chunk, Math.max(1, Math.floor(MAX_BATCH_BYTES / itemBytes)));
    }
    return chunk;
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
