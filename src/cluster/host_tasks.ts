/**
 * How a host runs one message of tasks: it checks what the tasks may run (module prefixes,
 * inline functions, the permission ceiling), runs them on its own local `Pool` for their
 * client (a pool per client, so each client's initializer and options hold), and hands each
 * outcome to the result publisher. A task cancelled by its client is skipped, or stopped
 * where it runs (its worker replaced, as a local pool does).
 *
 * @module
 */

import { Pool } from "../core/pool.ts";
import { PermissionError, WorkerCrashError } from "../core/errors.ts";
import { inlineSource, type TaskFn, taskModule, taskName } from "../core/task.ts";
import type { Isolation, PoolEventType } from "../core/events.ts";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { FunctionDefinition } from "../wire/protocol.ts";
import { withinCeiling } from "./ceiling.ts";
import { forwardEvent, type HostPool, idOffset } from "./host_stats.ts";
import { toRemoteError } from "./remote_error.ts";
import type { ResultPublisher } from "./result_publisher.ts";
import {
  packNumbers,
  type RemoteTask,
  type ResultEntry,
  type TaskBatch,
  unpackNumbers,
  type WorkerProfile,
} from "./wire.ts";

/** What a host allows, checked. */
export interface HostPolicy {
  readonly name: string;
  readonly size: number;
  readonly isolation: Isolation;
  readonly ceiling: CanonicalPermissions;
  readonly modules: readonly string[];
  readonly allowInline: boolean;
}

/** A client's pool is let go after this long without tasks. */
const POOL_IDLE_MS = 60_000;

/** A client's task on a local pool. */
interface LocalTask {
  readonly client: string;
  readonly id: number;
  /** When it started on its worker (0 until then). */
  started: number;
  runMs: number;
  readonly storing: Promise<void>[];
}

interface ClientPool extends HostPool {
  lastUsed: number;
}

/** See the module docs. */
export class HostTasks {
  readonly #policy: HostPolicy;
  readonly #publisher: ResultPublisher;
  readonly #pools = new Map<string, ClientPool>();
  /** Each client's functions as the local pool takes them, by their number. */
  readonly #functions = new Map<string, Map<number, TaskFn>>();
  /** Running tasks by `client` then id: what a cancel stops. */
  readonly #running = new Map<string, Map<number, AbortController>>();
  /** Ids each client cancelled (kept until the client is forgotten). */
  readonly #cancelled = new Map<string, Set<number>>();
  #busy = 0;
  /** The task being handed to a local pool now. */
  #submitting: LocalTask | null = null;
  #completed = 0;
  #failed = 0;

  /** Local pools made so far: the next one's ids start past theirs. */
  #made = 0;
  /** The event types the host has listeners for: only those are forwarded (and so built). */
  readonly #forwarded = new Set<PoolEventType>();

  /** @param events Where the local pools' events are dispatched again (the host). */
  constructor(policy: HostPolicy, publisher: ResultPublisher, readonly events: EventTarget) {
    this.#policy = policy;
    this.#publisher = publisher;
  }

  /** The host has a listener of `type`: its local pools' events of that type reach it. */
  forward(type: PoolEventType): void {
    if (this.#forwarded.has(type)) return;
    this.#forwarded.add(type);
    for (const { pool, offset } of this.#pools.values()) {
      forwardEvent(pool, type, this.events, offset);
    }
  }

  /** Tasks running now, of any client. */
  get busy(): number {
    return this.#busy;
  }

  /** Tasks finished well, failed. */
  get counts(): { completed: number; failed: number } {
    return { completed: this.#completed, failed: this.#failed };
  }

  /** The clients with tasks running here. */
  runningClients(): string[] {
    return [...this.#running].filter(([, tasks]) => tasks.size > 0).map(([client]) => client);
  }

  /** The local pools, for `stats()`. */
  pools(): HostPool[] {
    return [...this.#pools.values()];
  }

  /** A client gave up these tasks: skip them, stop those that run. */
  cancel(client: string, ids: readonly number[]): void {
    let cancelled = this.#cancelled.get(client);
    if (!cancelled) this.#cancelled.set(client, cancelled = new Set());
    const running = this.#running.get(client);
    for (const id of ids) {
      cancelled.add(id);
      running?.get(id)?.abort(new Error("cancelled by its client"));
    }
  }

  /** A client is gone: stop all it runs here, and let its pool go. */
  dropClient(client: string): void {
    for (const controller of this.#running.get(client)?.values() ?? []) {
      controller.abort(new Error("its client is gone"));
    }
    this.#running.delete(client);
    this.#cancelled.delete(client);
    this.#functions.delete(client);
    const entry = this.#pools.get(client);
    this.#pools.delete(client);
    entry?.pool.terminate().catch(() => {});
  }

  /** Fails every task of a batch delivered too often (its hosts kept dying). */
  failRedelivered(batch: TaskBatch, deliveries: number): Promise<void> {
    const stored = batch.tasks.map((task) => {
      const name = taskName(definitionOf(batch, task));
      return this.#publisher.add(batch.client, {
        id: task.id,
        started: Date.now(),
        runMs: 0,
        error: toRemoteError(
          new WorkerCrashError(
            `Cannot run task '${name}' as it was delivered ${deliveries} times and no host ` +
              `finished it (its hosts died or left): 'maxDeliver' is ${batch.maxDeliver}`,
          ),
        ),
      });
    });
    return Promise.all(stored).then(() => {});
  }

  /**
   * Runs a batch; resolves when every task ended (`ran`) and, later, when every outcome is
   * stored (`stored`): the message may be acknowledged then.
   */
  run(batch: TaskBatch): { ran: Promise<void>; stored: Promise<void> } {
    const client = batch.client;
    const cancelled = this.#cancelled.get(client);
    const tasks = cancelled ? batch.tasks.filter((task) => !cancelled.has(task.id)) : batch.tasks;
    // Checked once per batch: its tasks share their initializer and their permission set.
    const initializer = batch.profile.initializer;
    const refusal = initializer && this.#codeRefusal(initializer, "initializer");
    const lane = withinCeiling(batch.permissions, this.#policy.ceiling, "");
    const beyond = lane instanceof PermissionError;
    const options = beyond || lane === this.#policy.ceiling ? {} : { permissions: lane };
    const storing: Promise<void>[] = [];
    const running: Promise<void>[] = [];
    for (const task of tasks) {
      const definition = definitionOf(batch, task); // a batch holds a function or two
      const refused = refusal || this.#codeRefusal(definition) ||
        (beyond
          ? withinCeiling(batch.permissions, this.#policy.ceiling, taskName(definition))
          : null);
      if (refused) {
        this.#failed++;
        storing.push(this.#publisher.add(client, {
          id: task.id,
          started: Date.now(),
          runMs: 0,
          error: toRemoteError(refused),
        }));
        continue;
      }
      const fn = this.#resolve(client, definition);
      running.push(this.#runOne(batch, task, fn, options, storing));
    }
    const ran = Promise.all(running).then(() => {});
    return { ran, stored: ran.then(() => Promise.all(storing)).then(() => {}) };
  }

  /** Closes every local pool (after the tasks ended). */
  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((entry) => entry.pool.terminate()));
    this.#pools.clear();
  }

  /** Lets pools go that had nothing to do for long. */
  sweep(now: number): void {
    for (const [client, entry] of this.#pools) {
      if (now - entry.lastUsed > POOL_IDLE_MS && !this.#running.get(client)?.size) {
        this.#pools.delete(client);
        this.#functions.delete(client);
        entry.pool.close();
      }
    }
  }

  async #runOne(
    batch: TaskBatch,
    task: RemoteTask,
    fn: TaskFn,
    lane: { permissions?: CanonicalPermissions },
    storing: Promise<void>[],
  ): Promise<void> {
    const client = batch.client;
    const controller = new AbortController();
    let running = this.#running.get(client);
    if (!running) this.#running.set(client, running = new Map());
    running.set(task.id, controller);
    const local: LocalTask = { client, id: task.id, started: 0, runMs: 0, storing };
    let entry: ResultEntry | null;
    try {
      const value = await this.#call(
        batch,
        task,
        fn,
        { ...lane, signal: controller.signal },
        local,
      );
      entry = {
        id: task.id,
        started: local.started,
        runMs: local.runMs,
        value: task.mode === "apply" ? value : packNumbers(value as unknown[]),
      };
      this.#completed++;
    } catch (error) {
      entry = controller.signal.aborted
        ? null // its client settled it already
        : {
          id: task.id,
          started: local.started || Date.now(),
          runMs: local.runMs,
          error: toRemoteError(error),
        };
      if (entry) this.#failed++;
    } finally {
      running.delete(task.id);
    }
    if (entry) storing.push(this.#publisher.add(client, entry));
  }

  #call(
    batch: TaskBatch,
    task: RemoteTask,
    fn: TaskFn,
    options: { permissions?: CanonicalPermissions; signal: AbortSignal },
    local: LocalTask,
  ): Promise<unknown> {
    const pool = this.#pool(batch);
    const items = unpackNumbers(task.args);
    // The local pool's taskqueued, dispatched within the call, names its task (see #watch).
    this.#submitting = local;
    try {
      switch (task.mode) {
        case "apply":
          return pool.apply(fn, items, options);
        case "map":
          return pool.map(fn, items, { ...options, chunksize: Math.max(1, items.length) });
        case "starmap":
          return pool.starmap(fn, items as unknown[][], {
            ...options,
            chunksize: Math.max(1, items.length),
          });
      }
    } finally {
      this.#submitting = null;
    }
  }

  /**
   * Follows a local pool's tasks: when one really starts, its client hears of it (so its
   * stats show it running, not waiting), and its run time is the worker's own.
   */
  #watch(pool: Pool): Pool {
    const tasks = new Map<number, LocalTask>();
    pool.addEventListener("taskqueued", (event) => {
      if (this.#submitting) tasks.set(event.detail.taskId, this.#submitting);
    });
    pool.addEventListener("taskstart", (event) => {
      const local = tasks.get(event.detail.taskId);
      if (!local) return;
      local.started = event.detail.time;
      this.#busy++;
      local.storing.push(
        this.#publisher.add(local.client, { id: local.id, started: local.started }),
      );
    });
    pool.addEventListener("taskend", (event) => {
      const local = tasks.get(event.detail.taskId);
      if (!local) return;
      tasks.delete(event.detail.taskId);
      if (local.started > 0) this.#busy--;
      local.runMs = event.detail.runMs;
    });
    return pool;
  }

  /** The task for a client's function, made once (a module reference costs a URL parse). */
  #resolve(client: string, definition: FunctionDefinition): TaskFn {
    let functions = this.#functions.get(client);
    if (!functions) this.#functions.set(client, functions = new Map());
    let fn = functions.get(definition.fnId);
    if (fn === undefined) {
      fn = resolveTask(definition);
      functions.set(definition.fnId, fn);
    }
    return fn;
  }

  #pool(batch: TaskBatch): Pool {
    let entry = this.#pools.get(batch.client);
    if (!entry) {
      const pool = this.#newPool(batch.client, batch.profile);
      entry = { pool, offset: idOffset(++this.#made), lastUsed: 0 };
      for (const type of this.#forwarded) forwardEvent(pool, type, this.events, entry.offset);
      this.#pools.set(batch.client, entry);
    }
    entry.lastUsed = Date.now();
    return entry.pool;
  }

  #newPool(client: string, profile: WorkerProfile): Pool {
    const policy = this.#policy;
    const isolation = policy.isolation === "process" ? "process" : profile.isolation;
    return this.#watch(
      new Pool({
        name: `${policy.name}/${client}`,
        size: policy.size,
        isolation,
        maxTasksPerWorker: profile.maxTasksPerWorker,
        idleTimeout: POOL_IDLE_MS,
        ...(policy.ceiling === "inherit" ? {} : { permissions: toPermissions(policy.ceiling) }),
        ...(profile.initializer
          ? { initializer: resolveTask(profile.initializer), initArgs: [...profile.initArgs] }
          : {}),
        ...(profile.memoryLimitMb !== undefined && isolation === "process"
          ? { memoryLimitMb: profile.memoryLimitMb }
          : {}),
      }),
    );
  }

  /** Why this host may not run a function (its module, or inline), or null. */
  #codeRefusal(definition: FunctionDefinition, what?: string): PermissionError | null {
    const host = this.#policy.name;
    const name = what ?? taskName(definition);
    if (definition.kind === "inline") {
      return this.#policy.allowInline ? null : new PermissionError(
        `Cannot run inline function '${name}' on host ${host} as it runs inline functions ` +
          `only with --allow-inline (allowInline): export it from a task module instead`,
      );
    }
    const url = definition.url;
    if (this.#policy.modules.some((prefix) => url.startsWith(prefix))) return null;
    return new PermissionError(
      `Cannot run task '${name}' of module ${url} on host ${host} as the module is not under ` +
        `its --modules prefixes (${this.#policy.modules.join(", ") || "none"})`,
    );
  }
}

function definitionOf(batch: TaskBatch, task: RemoteTask): FunctionDefinition {
  const definition = batch.definitions.find((d) => d.fnId === task.fnId);
  if (!definition) {
    throw new TypeError(`Cannot run task ${task.id} as its batch lacks function ${task.fnId}`);
  }
  return definition;
}

function resolveTask(definition: FunctionDefinition): TaskFn {
  if (definition.kind === "inline") {
    return inlineSource(definition.name, definition.source) as unknown as TaskFn;
  }
  return (taskModule<Record<string, TaskFn>>(definition.url) as Record<string, unknown>)[
    definition.exportName
  ] as TaskFn;
}

function toPermissions(ceiling: Exclude<CanonicalPermissions, "inherit">) {
  return ceiling as unknown as Record<string, boolean | readonly string[]>;
}
