// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * A client's outcomes, read from the results stream through an ordered consumer: its
 * position survives a reconnect or a restarted server, so no outcome is lost in between.
 *
 * @module
 */

import { type ConsumerMessages, DeliverPolicy } from "npm:@nats-io/jetstream@3.4.0";
import type { ClusterConnection } from "./connection.ts";
import { decode, type ResultBatch } from "./wire.ts";

/** Reads one client's result batches, in the order hosts published them. */
export class ResultReader {
  readonly #connection: ClusterConnection;
  readonly #client: string;
  readonly #onBatch: (batch: ResultBatch) => void;
  #messages: ConsumerMessages | null = null;
  #stopped = false;

  constructor(
    connection: ClusterConnection,
    client: string,
    onBatch: (batch: ResultBatch) => void,
  ) {
    this.#connection = connection;
    this.#client = client;
    this.#onBatch = onBatch;
  }

  /** Subscribes; resolves when outcomes are being read. */
  async start(): Promise<void> {
    const { js, names } = this.#connection;
    const consumer = await js.consumers.get(names.resultsStream, {
      filter_subjects: names.results(this.#client),
      deliver_policy: DeliverPolicy.All,
    });
    if (this.#stopped) return;
    this.#messages = await consumer.consume({
      // Short pulls and heartbeats: after a server restart the consumer finds out (two
      // missed heartbeats) and is made again within seconds, not the default half minute.
      expires: 5_000,
      idle_heartbeat: 1_000,
      callback: (message) => {
        let batch: ResultBatch;
        try {
          batch = decode<ResultBatch>(message.data);
        } catch {
          return; // not ours to read: someone else published on our subject
        }
        this.#onBatch(batch);
      },
    });
  }

  /** Stops reading. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => {});
    this.#messages = null;
  }
}
