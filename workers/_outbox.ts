/**
 * A worker's finished tasks on their way back to the pool, batched column by column.
 *
 * @module
 */

import type { TaskFailure } from "../src/wire/thrown.ts";
import { isLoneResult, type LoneResult, type WireResults } from "../src/wire/protocol.ts";

/** Finished tasks waiting to be sent, column by column. */
export class Outbox {
  /** The only outcome so far, when it succeeded: already the message that will carry it. */
  #lone: [id: number, start: number, runMs: number, value: unknown] | null = null;
  #ids: number[] = [];
  #starts: number[] = [];
  #runMs: number[] = [];
  #values: unknown[] = [];
  #failures: [number, TaskFailure][] = [];
  /** When the oldest waiting task started. */
  since = 0;

  get length(): number {
    return this.#lone !== null ? 1 : this.#ids.length;
  }

  ok(id: number, start: number, runMs: number, value: unknown): void {
    if (this.length === 0) {
      this.since = start;
      this.#lone = [id, start, runMs, value];
      return;
    }
    this.#spill();
    this.#add(id, start, runMs, value);
  }

  fail(id: number, start: number, runMs: number, failure: TaskFailure): void {
    this.#spill();
    this.#failures.push([this.#ids.length, failure]);
    this.#add(id, start, runMs, undefined);
  }

  /** A second outcome arrived: the lone one moves into the columns. */
  #spill(): void {
    const lone = this.#lone;
    if (lone === null) return;
    this.#lone = null;
    this.#add(lone[0], lone[1], lone[2], lone[3]);
  }

  #add(id: number, start: number, runMs: number, value: unknown): void {
    if (this.#ids.length === 0) this.since = start;
    this.#ids.push(id);
    this.#starts.push(start);
    this.#runMs.push(runMs);
    this.#values.push(value);
  }

  /** Empties the outbox into one message. */
  take(): WireResults | LoneResult {
    const lone = this.#lone;
    if (lone !== null) {
      this.#lone = null;
      return lone;
    }
    const message: WireResults = {
      type: "results",
      ids: this.#ids,
      starts: this.#starts,
      runMs: this.#runMs,
      values: this.#values,
      failures: this.#failures,
    };
    this.#ids = [];
    this.#starts = [];
    this.#runMs = [];
    this.#values = [];
    this.#failures = [];
    return message;
  }
}

/** One message per result of a batch. */
export function splitResults(batch: WireResults | LoneResult): WireResults[] {
  if (isLoneResult(batch)) {
    const [id, start, runMs, value] = batch;
    return [{
      type: "results",
      ids: [id],
      starts: [start],
      runMs: [runMs],
      values: [value],
      failures: [],
    }];
  }
  return batch.ids.map((id, i) => ({
    type: "results",
    ids: [id],
    starts: [batch.starts[i]!],
    runMs: [batch.runMs[i]!],
    values: [batch.values[i]],
    failures: batch.failures.filter(([at]) => at === i).map(([, failure]) => [0, failure]),
  }));
}
