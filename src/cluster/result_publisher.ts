/**
 * A host's outcomes on their way to the results stream: gathered per client for a moment,
 * so a message of tiny tasks answers in one publish, split below the server's message limit,
 * and published again until the server has them (its acknowledgement is what lets the host
 * acknowledge the task message: until then, a restarted server or a dead host loses nothing).
 *
 * @module
 */

import type { Isolation } from "../core/events.ts";
import type { ClusterConnection } from "./connection.ts";
import { encode, type ResultEntry } from "./wire.ts";

/** Outcomes gather this long before they are published (ms). */
const GATHER_MS = 1;

interface Pending {
  entries: ResultEntry[];
  /** Where each start entry is, by task id: its outcome, gathered as well, takes its place. */
  starts: Map<number, number>;
  /** One promise for the whole gathering: resolved once all its messages are stored. */
  stored: Promise<void>;
  resolve: () => void;
}

/** See the module docs. */
export class ResultPublisher {
  readonly #connection: ClusterConnection;
  readonly #host: {
    readonly host: string;
    readonly workers: number;
    readonly isolation: Isolation;
  };
  readonly #pending = new Map<string, Pending>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #inFlight = 0;
  #idle: (() => void) | null = null;

  constructor(connection: ClusterConnection, host: string, workers: number, isolation: Isolation) {
    this.#connection = connection;
    this.#host = { host, workers, isolation };
  }

  /** Queues an outcome; resolves once the server stored it. */
  add(client: string, entry: ResultEntry): Promise<void> {
    let pending = this.#pending.get(client);
    if (!pending) {
      const { promise, resolve } = Promise.withResolvers<void>();
      pending = { entries: [], starts: new Map(), stored: promise, resolve };
      this.#pending.set(client, pending);
    }
    const start = pending.starts.get(entry.id);
    if (start === undefined) {
      if (!("runMs" in entry)) pending.starts.set(entry.id, pending.entries.length);
      pending.entries.push(entry);
    } else {
      // A tiny task started and ended within one gathering: one entry says both.
      if ("runMs" in entry) pending.entries[start] = entry;
      pending.starts.delete(entry.id);
    }
    this.#timer ??= setTimeout(() => this.flush(), GATHER_MS);
    return pending.stored;
  }

  /** Publishes everything gathered now. */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = [...this.#pending];
    this.#pending.clear();
    // The order of the entries does not matter: the client settles a message's outcomes
    // before its starts (see the executor's #onResults).
    for (const [client, { entries, resolve }] of pending) {
      const messages = this.#split(entries);
      let left = messages.length;
      for (const data of messages) {
        this.#publish(client, data, 0, () => {
          if (--left === 0) resolve();
        });
      }
    }
  }

  /** Resolves when every outcome queued so far is stored (or the publisher was closed). */
  drained(): Promise<void> {
    this.flush();
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle = resolve);
  }

  /** Gives up on what is not stored yet (the host is going; NATS redelivers its tasks). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#idle?.();
  }

  /** The entries as messages under the server's limit; one entry too big becomes an error. */
  #split(entries: ResultEntry[]): Uint8Array[] {
    const limit = this.#connection.maxPayload - 1024;
    const data = encode({ ...this.#host, entries });
    if (data.byteLength <= limit) return [data];
    if (entries.length > 1) {
      const half = Math.ceil(entries.length / 2);
      return [...this.#split(entries.slice(0, half)), ...this.#split(entries.slice(half))];
    }
    const entry = entries[0]!;
    return [encode({
      ...this.#host,
      entries: [{
        id: entry.id,
        started: entry.started,
        runMs: "runMs" in entry ? entry.runMs : 0,
        error: {
          name: "RangeError",
          message: `Cannot return the result of the task from host ${this.#host.host} as it ` +
            `takes ${data.byteLength} bytes and the NATS server's message limit ` +
            `(max_payload) is ${this.#connection.maxPayload}: return smaller pieces, or ` +
            `raise max_payload`,
        },
      }],
    })];
  }

  #publish(client: string, data: Uint8Array, attempt: number, stored: () => void): void {
    if (this.#closed) return;
    this.#inFlight++;
    const { js, names } = this.#connection;
    js.publish(names.results(client), data, { timeout: 5_000 }).then(
      () => {
        this.#settle();
        stored();
      },
      () => {
        this.#settle();
        if (this.#closed) return;
        this.#inFlight++;
        setTimeout(() => {
          this.#inFlight--;
          this.#publish(client, data, attempt + 1, stored);
        }, Math.min(2_000, 100 * 2 ** attempt));
      },
    );
  }

  #settle(): void {
    if (--this.#inFlight === 0 && this.#pending.size === 0) {
      const idle = this.#idle;
      this.#idle = null;
      idle?.();
    }
  }
}
