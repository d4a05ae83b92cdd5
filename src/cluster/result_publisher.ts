/**
 * A host's outcomes on their way to the results stream: gathered per client for a moment,
 * so a message of tiny tasks answers in one publish, split below the server's message limit,
 * and published again until the server has them (its acknowledgement is what lets the host
 * acknowledge the task message: until then, a restarted server or a dead host loses nothing).
 *
 * @module
 */

import type { ClusterConnection } from "./connection.ts";
import { encode, type ResultEntry } from "./wire.ts";

/** Outcomes gather this long before they are published (ms). */
const GATHER_MS = 1;

interface Pending {
  entries: ResultEntry[];
  done: (() => void)[];
}

/** See the module docs. */
export class ResultPublisher {
  readonly #connection: ClusterConnection;
  readonly #host: string;
  readonly #pending = new Map<string, Pending>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #inFlight = 0;
  #idle: (() => void) | null = null;

  constructor(connection: ClusterConnection, host: string) {
    this.#connection = connection;
    this.#host = host;
  }

  /** Queues an outcome; resolves once the server stored it. */
  add(client: string, entry: ResultEntry): Promise<void> {
    let pending = this.#pending.get(client);
    if (!pending) this.#pending.set(client, pending = { entries: [], done: [] });
    pending.entries.push(entry);
    const stored = new Promise<void>((resolve) => pending.done.push(resolve));
    this.#timer ??= setTimeout(() => this.flush(), GATHER_MS);
    return stored;
  }

  /** Publishes everything gathered now. */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [client, { entries, done }] of pending) {
      const messages = this.#split(entries);
      let left = messages.length;
      for (const data of messages) {
        this.#publish(client, data, 0, () => {
          if (--left === 0) { for (const resolve of done) resolve(); }
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
    const data = encode({ host: this.#host, entries });
    if (data.byteLength <= limit) return [data];
    if (entries.length > 1) {
      const half = Math.ceil(entries.length / 2);
      return [...this.#split(entries.slice(0, half)), ...this.#split(entries.slice(half))];
    }
    const entry = entries[0]!;
    return [encode({
      host: this.#host,
      entries: [{
        id: entry.id,
        started: entry.started,
        runMs: "runMs" in entry ? entry.runMs : 0,
        error: {
          name: "RangeError",
          message: `Cannot return the result of the task from host ${this.#host} as it ` +
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
