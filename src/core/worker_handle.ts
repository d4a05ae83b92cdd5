/**
 * The pool's view of one worker: its state, the tasks it holds in the order it runs them,
 * which functions it has (a bounded set the pool keeps in step with the worker's), and
 * what it has done.
 *
 * @module
 */

import { Fifo } from "../util/_fifo.ts";
import type { WorkerState } from "./events.ts";
import { CALL_MODES, type FunctionDefinition, type LoneTask } from "../wire/protocol.ts";
import type { Lane, PendingTask } from "./scheduler.ts";
import type { Transport } from "../transport/transport.ts";

/**
 * Functions a worker keeps compiled or imported, at most (plus any that tasks in flight on
 * it still need). Past this the pool tells it to forget the ones it was sent first; the
 * pool decides and the worker never forgets on its own, so a function is always re-sent
 * to a worker that no longer has it.
 */
export const MAX_WORKER_FUNCTIONS = 256;

/** One worker and the tasks in flight on it. */
export class WorkerHandle {
  state: WorkerState = "starting";
  /** Tasks sent and not finished, in the order the worker runs them: the head is running. */
  readonly inflight = new Fifo<PendingTask>();
  /** Sum of the in-flight tasks' peak run times, ms (see `RunTimeEstimates.peakMs`). */
  heldMs = 0;
  /** Tasks ever sent (counted against maxTasksPerWorker). */
  sent = 0;
  tasksCompleted = 0;
  tasksFailed = 0;
  /** Time spent on finished tasks, ms. */
  busyMs = 0;
  /** Wall-clock ms when it last became idle (for idleTimeout). */
  idleSince: number;
  /** Takes no more tasks, and retires when idle (its slot goes to another lane). */
  draining = false;
  /** Task modules in its start-up graph: the ones it could not read and import itself. */
  readonly preloaded = new Set<string>();
  transport!: Transport;
  /** The functions it has, oldest first. */
  readonly #defined = new Set<number>();

  constructor(readonly id: number, readonly lane: Lane, now: number) {
    this.idleSince = now;
  }

  /** Whether it has been sent the function `fnId` already. */
  knows(fnId: number): boolean {
    return this.#defined.has(fnId);
  }

  /** Whether it may be sent tasks: started, and not on its way out. */
  get accepting(): boolean {
    return (this.state === "idle" || this.state === "busy") && !this.draining;
  }

  /**
   * Sends tasks in one message, with the definitions of functions it has not seen.
   * Marks them in flight first, so a synchronous failure to send leaves them to the caller.
   */
  send(tasks: readonly PendingTask[]): void {
    const first = tasks[0]!;
    if (tasks.length === 1 && this.#defined.has(first.definition.fnId)) {
      const lone: LoneTask = [
        first.id,
        first.definition.fnId,
        CALL_MODES.indexOf(first.mode),
        first.args,
      ];
      this.transport.send(lone, first.transfer);
      return;
    }
    const defines: FunctionDefinition[] = [];
    const n = tasks.length;
    const ids: number[] = new Array(n);
    const fnIds: number[] = new Array(n);
    const modes: number[] = new Array(n);
    const args: (readonly unknown[])[] = new Array(n);
    let transfer: Transferable[] | undefined;
    for (let i = 0; i < n; i++) {
      const task = tasks[i]!;
      const definition = task.definition;
      if (!this.#defined.has(definition.fnId) && !defines.includes(definition)) {
        defines.push(definition);
      }
      ids[i] = task.id;
      fnIds[i] = definition.fnId;
      modes[i] = CALL_MODES.indexOf(task.mode);
      args[i] = task.args;
      if (task.transfer) (transfer ??= []).push(...task.transfer);
    }
    if (defines.length > 0 && this.#defined.size + defines.length > MAX_WORKER_FUNCTIONS) {
      this.#forgetFor(defines.length, fnIds);
    }
    this.transport.send({ type: "run", defines, ids, fnIds, modes, args }, transfer);
    for (const definition of defines) this.#defined.add(definition.fnId);
  }

  /**
   * Makes room for `adding` functions: the worker forgets the oldest it has that neither
   * this batch (`batchFnIds`) nor a task in flight on it needs. It runs its messages in
   * order, so it forgets before it defines and runs the batch.
   */
  #forgetFor(adding: number, batchFnIds: readonly number[]): void {
    const needed = new Set(batchFnIds);
    for (const task of this.inflight) needed.add(task.definition.fnId);
    const forget: number[] = [];
    let excess = this.#defined.size + adding - MAX_WORKER_FUNCTIONS;
    for (const fnId of this.#defined) {
      if (excess <= 0) break;
      if (needed.has(fnId)) continue;
      forget.push(fnId);
      excess--;
    }
    if (forget.length === 0) return;
    this.transport.send({ type: "forget", fnIds: forget });
    for (const fnId of forget) this.#defined.delete(fnId);
  }
}
