/**
 * What the model-based test sees of a pool from outside: every event, and `stats()`
 * sampled at every event and between the script's steps. It keeps the invariants that
 * hold at every moment (`queued >= 0`, `running` within the workers), and, once the pool
 * is idle, that the counters and the events add up.
 *
 * @module
 */

import type { Pool, TaskEndDetail } from "../mod.ts";
import type { CallSpec, Expectation, Outcome } from "./_model.ts";
import { InvariantViolation } from "./_model_checks.ts";

/** How often, and how many samples in a row, before an idle worker beside a queue is a breach. */
const IDLE_SAMPLE_MS = 20;
const IDLE_SAMPLES_FOR_BREACH = 5;

/** Listens to a pool and keeps what it saw, and the invariants it found broken. */
export class Watch {
  readonly queuedIds = new Set<number>();
  readonly ended = new Map<number, TaskEndDetail>();
  /** The worker each task started on, and the permission set of each worker. */
  readonly startedOn = new Map<number, number>();
  readonly workerLanes = new Map<number, string>();
  lastProgress = performance.now();
  readonly #violations = new Map<string, string[]>();
  readonly #listeners = new AbortController();
  readonly #startHooks = new Map<number, () => void>();
  #capturing: number[] | null = null;

  /** How many samples in a row saw a task wait while a worker was idle. */
  #waitingWhileIdle = 0;
  readonly #idleWatch = setInterval(() => this.#checkNoWaitWhileIdle(), IDLE_SAMPLE_MS);

  /**
   * @param idleBreachMs How long a task may wait while a worker is idle before it is a
   * breach: a moment for a local pool; for a cluster, the time a host takes to start a
   * worker for a new client and say the task started.
   */
  constructor(
    readonly pool: Pool,
    readonly maxQueue: number | undefined,
    readonly idleBreachMs = IDLE_SAMPLE_MS * IDLE_SAMPLES_FOR_BREACH,
  ) {
    const signal = this.#listeners.signal;
    pool.addEventListener("taskqueued", (e) => {
      const { taskId } = e.detail;
      if (this.queuedIds.has(taskId)) this.violate("task ids are unique", `task ${taskId}`);
      this.queuedIds.add(taskId);
      this.#capturing?.push(taskId);
      this.#saw("taskqueued");
    }, { signal });
    pool.addEventListener("taskstart", (e) => {
      const { taskId } = e.detail;
      if (!this.queuedIds.has(taskId) || this.ended.has(taskId)) {
        this.violate("a task starts between its taskqueued and its taskend", `task ${taskId}`);
      }
      this.startedOn.set(taskId, e.detail.workerId);
      const hook = this.#startHooks.get(taskId);
      if (hook) {
        this.#startHooks.delete(taskId);
        hook();
      }
      this.#saw("taskstart");
    }, { signal });
    pool.addEventListener("taskend", (e) => {
      const detail = e.detail;
      if (!this.queuedIds.has(detail.taskId)) {
        this.violate("every taskend has its taskqueued", `task ${detail.taskId}`);
      }
      if (this.ended.has(detail.taskId)) {
        this.violate("a task ends once", `task ${detail.taskId} had two taskend events`);
      }
      this.ended.set(detail.taskId, detail);
      // Of every task (also those of async inputs, which no call claims): a failed taskend
      // names a specific error, not a bare `Error: cancelled`. Which one is checked per call.
      if (!detail.ok && (detail.error?.name ?? "Error") === "Error") {
        this.violate(
          "a stopped task's taskend names the real reason",
          `task ${detail.taskId} ended with ${detail.error?.name}: ${detail.error?.message}`,
        );
      }
      this.#saw("taskend");
    }, { signal });
    pool.addEventListener("workerspawn", (e) => {
      this.workerLanes.set(e.detail.workerId, e.detail.permissions);
      this.#saw("workerspawn");
    }, { signal });
    pool.addEventListener("workerexit", () => this.#saw("workerexit"), { signal });
  }

  /** Collects the ids of the tasks queued until `capture(null)`. */
  capture(into: number[] | null): void {
    this.#capturing = into;
  }

  /** Calls `hook` once, when the first of `ids` starts. */
  onStart(ids: readonly number[], hook: () => void): void {
    let fired = false;
    const once = () => {
      if (!fired) hook();
      fired = true;
    };
    for (const id of ids) this.#startHooks.set(id, once);
  }

  /** Something happened: the hang detector starts counting again. */
  progress(): void {
    this.lastProgress = performance.now();
  }

  /** Records a broken invariant (a few examples of each). */
  violate(invariant: string, detail: string): void {
    const seen = this.#violations.get(invariant) ?? [];
    if (seen.length < 3) seen.push(detail);
    this.#violations.set(invariant, seen);
  }

  /**
   * The scheduling promise, seen from outside: a task may wait while a started worker is
   * idle, and no other is on its way, only for a moment (between a result and the dispatch
   * after it). Sampled on a
   * timer, so never in the middle of a pool operation; a few samples in a row is a breach.
   */
  #checkNoWaitWhileIdle(): void {
    const s = this.pool.stats();
    const idle = s.workers.filter((w) => w.state === "idle").length;
    // A worker starting means a lane's slot is on its way (the idle one may be of another
    // permission set, which the promise does not cover): only a pool with none is stuck.
    const starting = s.workers.some((w) => w.state === "starting");
    // With a worker busy, what is queued may be tiny tasks sent ahead to it, which the
    // promise allows (a function tiny so far may then run long: docs/api.md says so); with
    // none busy, a queued task has no excuse.
    const busy = s.workers.some((w) => w.state === "busy");
    if (s.state === "terminated" || s.queued === 0 || idle === 0 || starting || busy) {
      this.#waitingWhileIdle = 0;
      return;
    }
    if (++this.#waitingWhileIdle === Math.ceil(this.idleBreachMs / IDLE_SAMPLE_MS)) {
      this.violate("no task waits while a worker is idle", this.summary());
    }
  }

  /** Stops listening. */
  detach(): void {
    clearInterval(this.#idleWatch);
    this.#listeners.abort();
    this.#startHooks.clear();
  }

  /** Tasks queued and not ended, by the events. */
  get openTasks(): number {
    return this.queuedIds.size - this.ended.size;
  }

  /** The pool in one line, for reports. */
  summary(): string {
    const s = this.pool.stats();
    return `state ${s.state}, queued ${s.queued}, running ${s.running}, workers [${
      s.workers.map((w) => `${w.id} ${w.state}`).join(", ")
    }], ${this.queuedIds.size} tasks queued, ${this.ended.size} ended`;
  }

  /**
   * Checks what holds at every moment. Between steps (not inside a listener, where the
   * pool is in the middle of an operation) also that every task accepted and not ended
   * is either queued or running.
   */
  sample(where: string, inListener = false): void {
    const s = this.pool.stats();
    const at = `${where}: ${this.summary()}`;
    if (s.queued < 0) this.violate("queued >= 0", at);
    if (s.running < 0) this.violate("running >= 0", at);
    if (s.running > s.size) this.violate("running <= size", at);
    if (s.running > s.workers.length) this.violate("running <= workers", at);
    const busy = s.workers.filter((w) => w.state === "busy").length;
    if (s.running > busy) this.violate("running counts tasks executing now (<= busy workers)", at);
    const live = s.workers.filter((w) => w.state !== "exiting").length;
    if (live > s.size) this.violate("workers (not exiting) <= size", at);
    if (!inListener && s.state !== "terminated" && s.queued + s.running !== this.openTasks) {
      this.violate("queued + running = tasks queued and not ended", at);
    }
  }

  /** Waits until the pool has nothing queued or running (or `ms` passed). */
  async idle(ms: number): Promise<void> {
    const until = performance.now() + ms;
    for (;;) {
      const s = this.pool.stats();
      const open = s.state === "terminated" ? 0 : this.openTasks;
      if ((s.queued === 0 && s.running === 0 && open === 0) || performance.now() > until) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Once every call settled and the pool is idle: the counters and events add up. */
  checkIdle(successfulItems: number): void {
    const s = this.pool.stats();
    if (s.queued !== 0 || s.running !== 0) {
      this.violate("an idle pool has queued = running = 0", this.summary());
    }
    const unended = [...this.queuedIds].filter((id) => !this.ended.has(id));
    if (unended.length > 0) {
      this.violate(
        "every taskqueued has its taskend",
        `${unended.length} of ${this.queuedIds.size} tasks never ended (ids ${
          unended.slice(0, 8).join(", ")
        }); pool ${s.state}`,
      );
    }
    // The counters count items (an apply is one, a map chunk its length), as the taskend
    // events do: each ended task adds its items to exactly one of them.
    const items = { ok: 0, failed: 0, cancelled: 0 };
    for (const detail of this.ended.values()) {
      const counter = detail.ok ? "ok" : detail.cancelled ? "cancelled" : "failed";
      items[counter] += detail.items;
    }
    const okItems = items.ok;
    if (s.completed !== items.ok) {
      this.violate(
        "completed = items of the tasks that ended well",
        `completed ${s.completed}, items of ok taskend events ${items.ok}`,
      );
    }
    if (s.failed !== items.failed || s.cancelled !== items.cancelled) {
      this.violate(
        "failed, cancelled = items of the tasks that failed, that were stopped",
        `failed ${s.failed}, cancelled ${s.cancelled}; items of taskend events: failed ` +
          `${items.failed}, cancelled ${items.cancelled}`,
      );
    }
    if (okItems > successfulItems) {
      this.violate(
        "tasks that ended well carry only items that succeed",
        `${okItems} items in tasks that ended well, ${successfulItems} items succeed`,
      );
    }
  }

  /**
   * A call's tasks ran only on workers of its own permission set, and their failed taskend
   * events name a reason the call can fail with.
   */
  checkTaskEnds(ids: readonly number[], spec: CallSpec, e: Expectation, call: string): void {
    const lane = spec.lane === "none" ? "none" : "inherit";
    for (const id of ids) {
      const worker = this.startedOn.get(id);
      if (worker !== undefined && this.workerLanes.get(worker) !== lane) {
        this.violate(
          "a task runs only on a worker of its permission set",
          `${call}: task ${id} (${lane}) started on worker ${worker} (${
            this.workerLanes.get(worker)
          })`,
        );
      }
    }
    // Tasks dropped by the consumer's return() have no failure to name.
    if (typeof spec.consume === "number") return;
    const allowed = new Set<string>([
      ...e.items.map((i) => i.outcome).filter((o: Outcome) => o !== "ok"),
      ...e.races,
      ...(e.abortedUpFront ? ["AbortError"] : []),
    ]);
    for (const id of ids) {
      const detail = this.ended.get(id);
      if (!detail || detail.ok) continue;
      if (!allowed.has(detail.error?.name ?? "")) {
        this.violate(
          "a stopped task's taskend names the real reason",
          `${call}: task ${id} ended with ${detail.error?.name}: ${detail.error?.message}`,
        );
      }
    }
  }

  /** Throws one InvariantViolation listing every invariant found broken. */
  throwIfViolated(ignore: readonly string[], only?: readonly string[]): void {
    const broken = new Map(
      [...this.#violations].filter(([name]) =>
        !ignore.some((part) => name.includes(part)) &&
        (only === undefined || only.some((part) => name.includes(part)))
      ),
    );
    if (broken.size > 0) throw new InvariantViolation(broken);
  }

  #saw(event: string): void {
    this.progress();
    this.sample(`on ${event}`, true);
  }
}
