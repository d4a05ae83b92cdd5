/**
 * The pool's calls: each checked the same way, its function and lane resolved, then its job
 * and tasks made and queued (`apply`, `map`/`starmap`, `imap`/`imapUnordered`). Also what
 * admits a call: the pool's state, and the jobs still open.
 *
 * @module
 */

import type { Executor } from "./executor.ts";
import type { CallOptions, ImapOptions, MapOptions } from "./options.ts";
import { PoolClosedError } from "./errors.ts";
import type { Isolation } from "./events.ts";
import {
  assertPermissionsGrantable,
  type CanonicalPermissions,
  canonicalPermissions,
  type Permissions,
  permissionsKey,
} from "../permissions/descriptor.ts";
import { assertWorkerOptionsEnabled } from "../permissions/deno_config.ts";
import type { CallMode, FunctionDefinition } from "../wire/protocol.ts";
import { ApplyJob, type JobHost, MapJob } from "./jobs.ts";
import { StreamJob } from "./stream_job.ts";
import type { ResultCallbacks } from "./results.ts";
import { type Job, type Lane, MAX_BATCH_BYTES, type RunTimeEstimates } from "./scheduler.ts";
import type { PoolState } from "./stats.ts";
import type { FunctionTable } from "./task.ts";
import { binaryBytes, collect, transfersIn } from "../wire/_payload.ts";
import { SlotList } from "./_slots.ts";
import { CallDeadlines } from "./call_deadline.ts";
import {
  type CallMethod,
  checkArgumentLists,
  checkCallOptions,
  checkIterable,
} from "./_validate.ts";

/** Makes the pool's calls into jobs and tasks; see the module docs. */
export class Calls {
  /** The pool's state: `Pool` changes it, a call reads it. */
  state: PoolState = "running";
  /** The jobs awaiting results. */
  readonly jobs = new SlotList<Job>();
  /** The lane of the pool's own permissions. */
  readonly defaultLane: Lane;
  readonly #isolation: Isolation;
  readonly #dispatcher: Executor;
  readonly #functions: FunctionTable;
  readonly #estimates: RunTimeEstimates;
  readonly #host: JobHost;
  readonly #deadlines = new CallDeadlines();
  /** What {@link #prepare} resolved for the call being made; read at once by the caller. */
  readonly #prepared: { definition: FunctionDefinition; lane: Lane } = {
    definition: undefined as unknown as FunctionDefinition,
    lane: undefined as unknown as Lane,
  };

  constructor(
    isolation: Isolation,
    dispatcher: Executor,
    functions: FunctionTable,
    estimates: RunTimeEstimates,
    host: JobHost,
    permissions: Permissions | undefined,
  ) {
    this.#isolation = isolation;
    this.#dispatcher = dispatcher;
    this.#functions = functions;
    this.#estimates = estimates;
    this.#host = host;
    this.defaultLane = this.lane(permissions, "permissions");
  }

  /** Forgets a settled job and undoes its deadline; true when no job is left open. */
  settled(job: Job): boolean {
    this.jobs.delete(job);
    this.#deadlines.disarm(job);
    return this.jobs.size === 0;
  }

  /**
   * Checks a call and resolves what its tasks need, the same way for every method: the
   * pool runs, the input is an argument list (`"args"`) or an iterable, the options are
   * known, the function can travel; then the lane of its permissions. Returns the input
   * (`undefined` args become `[]`, a string an iterator); the function's definition and
   * the lane are left in {@link #prepared}, read at once: no object per call.
   */
  #prepare(
    method: CallMethod,
    fn: unknown,
    input: unknown,
    kind: "args" | "iterable",
    options: CallOptions | undefined,
  ): unknown {
    this.#assertRunning(method);
    if (kind === "iterable") input = checkIterable(input, method);
    else if (input === undefined) input = [];
    else if (!Array.isArray(input)) {
      throw new TypeError(
        `Cannot ${method} as 'args' must be an array of arguments: current value is ` +
          `${typeof input}`,
      );
    }
    checkCallOptions(options, method);
    const prepared = this.#prepared;
    prepared.definition = this.#functions.resolve(fn, "fn");
    prepared.lane = options?.permissions === undefined
      ? this.defaultLane
      : this.lane(options.permissions, "options.permissions");
    return input;
  }

  /** An `apply`/`applyAsync` call: one task, queued. */
  apply<R>(
    fn: unknown,
    args: unknown,
    options: CallOptions | undefined,
    callbacks: ResultCallbacks<R> | undefined,
    method: CallMethod,
  ): ApplyJob<R> {
    const argList = this.#prepare(method, fn, args, "args", options) as readonly unknown[];
    const { definition, lane } = this.#prepared;
    const job = new ApplyJob<R>(this.#host, callbacks);
    const task = this.#dispatcher.newTask({
      job,
      index: 0,
      definition,
      mode: "apply",
      args: argList,
      items: 1,
      transfer: options?.transfer,
      lane,
    });
    this.#dispatcher.assertQueueRoom(1, method);
    job.task = task;
    this.jobs.add(job);
    this.#dispatcher.enqueue(task);
    if (options?.signal || options?.timeout !== undefined) this.#deadlines.arm(job, options);
    return job;
  }

  /** A `map`/`starmap` call's promise: a call refused rejects it rather than throwing. */
  mapPromise<R>(
    fn: unknown,
    iterable: unknown,
    options: MapOptions | undefined,
    mode: "map" | "starmap",
  ): Promise<R[]> {
    try {
      return this.map<R>(fn, iterable, options, undefined, mode, mode).promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A `map`/`starmap` call (and their async forms): the input read, then its chunks queued. */
  map<R>(
    fn: unknown,
    iterable: unknown,
    options: MapOptions | undefined,
    callbacks: ResultCallbacks<R[]> | undefined,
    mode: CallMode,
    method: CallMethod,
  ): MapJob<R> {
    iterable = this.#prepare(method, fn, iterable, "iterable", options);
    const { definition, lane } = this.#prepared;
    const job = new MapJob<R>(this.#host, callbacks);
    this.jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#deadlines.arm(job, options);
    const submit = (items: readonly unknown[]) => {
      if (job.settled) return;
      if (mode === "starmap") checkArgumentLists(items, method);
      const chunksize = options?.chunksize ??
        this.#estimates.chunksize(
          definition.fnId,
          items.length,
          this.#dispatcher.size,
          // Moved buffers are not copied: they need no smaller chunks.
          items.length > 0 && !options?.transfer ? binaryBytes(items) / items.length : 0,
        );
      const chunks = Math.ceil(items.length / chunksize);
      this.#dispatcher.assertQueueRoom(chunks, method);
      job.expect(items.length);
      for (let start = 0; start < items.length; start += chunksize) {
        const chunk = items.slice(start, start + chunksize);
        const transfer = options?.transfer ? transfersIn(chunk, options.transfer) : undefined;
        const task = this.#dispatcher.newTask({
          job,
          index: start,
          definition,
          mode,
          args: chunk,
          items: chunk.length,
          transfer,
          lane,
        });
        job.add(task);
        this.#dispatcher.enqueue(task);
      }
    };
    const fail = (error: unknown) => job.fail(null, error);
    if (Array.isArray(iterable)) {
      try {
        submit(iterable);
      } catch (error) {
        fail(error);
      }
    } else {
      collect(iterable as Iterable<unknown> | AsyncIterable<unknown>).then((items) => {
        if (this.state === "terminated") {
          fail(new PoolClosedError("The pool was terminated before the input was read"));
        } else submit(items);
      }).catch(fail);
    }
    return job;
  }

  /** An `imap`/`imapUnordered` call: chunks pulled and queued through a window. */
  stream<R>(
    fn: unknown,
    iterable: unknown,
    options: ImapOptions | undefined,
    ordered: boolean,
    method: CallMethod,
  ): StreamJob<R> {
    iterable = this.#prepare(method, fn, iterable, "iterable", options);
    const { definition, lane } = this.#prepared;
    const chunksize = options?.chunksize === undefined
      ? () => this.#estimates.chunksize(definition.fnId, undefined, this.#dispatcher.size)
      : () => options.chunksize!;
    const window = options?.window ??
      Math.max(64, this.#dispatcher.size * 4 * (options?.chunksize ?? 256));
    const job: StreamJob<R> = new StreamJob<R>(
      this.#host,
      iterable as Iterable<unknown> | AsyncIterable<unknown>,
      ordered,
      chunksize,
      window,
      (items, index) => {
        if (this.state === "terminated") {
          throw new PoolClosedError("The pool was terminated before the input was read");
        }
        this.#dispatcher.assertQueueRoom(1, method);
        const transfer = options?.transfer ? transfersIn(items, options.transfer) : undefined;
        const task = this.#dispatcher.newTask({
          job,
          index,
          definition,
          mode: "map",
          args: items,
          items: items.length,
          transfer,
          lane,
        });
        this.#dispatcher.enqueue(task);
        return task;
      },
      // Automatic chunks keep to MAX_BATCH_BYTES of copied binary data, as map's do;
      // moved buffers are not copied.
      options?.chunksize === undefined && !options?.transfer ? MAX_BATCH_BYTES : Infinity,
    );
    this.jobs.add(job);
    if (options?.signal || options?.timeout !== undefined) this.#deadlines.arm(job, options);
    job.start();
    return job;
  }

  /** The lane of a call's permissions (checked; `where` names them in errors). */
  lane(permissions: Permissions | undefined, where: string): Lane {
    let canonical: CanonicalPermissions | undefined = undefined;
    if (permissions !== undefined) {
      const checked = canonicalPermissions(permissions, where);
      if (checked !== "inherit") {
        if (this.#dispatcher.local) {
          assertPermissionsGrantable(checked);
          if (this.#isolation === "worker") assertWorkerOptionsEnabled();
        }
        canonical = checked;
      }
    }
    const key = canonical === undefined ? "inherit" : permissionsKey(canonical);
    return this.#dispatcher.lane(key, canonical);
  }

  #assertRunning(method: string): void {
    if (this.state !== "running") {
      throw new PoolClosedError(
        `Cannot ${method} as the pool is ${this.state === "closing" ? "closed" : "terminated"}`,
      );
    }
  }
}
