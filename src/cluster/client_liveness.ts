/**
 * Whether a client still waits for its tasks: a host asks the client's responder before it
 * runs the client's work, and again while that work runs. A client that does not answer for
 * {@link CLIENT_GRACE_MS} (a server restart takes less) is taken for dead: its tasks are
 * dropped, so nothing it left behind runs for ever.
 *
 * @module
 */

import { Empty } from "@nats-io/transport-node";
import type { ClusterConnection } from "./connection.ts";

/** A client silent this long is dead. */
export const CLIENT_GRACE_MS = 5_000;
/** An answer is trusted this long. */
const FRESH_MS = 2_000;
/** Between two questions to a silent client. */
const RETRY_MS = 500;
/** Dead clients are remembered this long (their messages may still come). */
const REMEMBER_MS = 10 * 60_000;

interface ClientState {
  lastAlive: number;
  dead: boolean;
  asking: Promise<boolean> | null;
}

/** See the module docs. */
export class ClientLiveness {
  readonly #connection: ClusterConnection;
  readonly #clients = new Map<string, ClientState>();

  constructor(connection: ClusterConnection) {
    this.#connection = connection;
  }

  /** Whether `client` is known dead (without asking). */
  isDead(client: string): boolean {
    return this.#clients.get(client)?.dead ?? false;
  }

  /** Marks a client dead: it said goodbye. */
  markDead(client: string): void {
    const state = this.#state(client);
    state.dead = true;
  }

  /** Whether `client` is alive; asks it when its last answer is not fresh. */
  alive(client: string): Promise<boolean> {
    const state = this.#state(client);
    if (state.dead) return Promise.resolve(false);
    if (Date.now() - state.lastAlive < FRESH_MS) return Promise.resolve(true);
    state.asking ??= this.#ask(client, state).finally(() => state.asking = null);
    return state.asking;
  }

  /** Forgets clients dead or silent for long. */
  sweep(): void {
    const now = Date.now();
    for (const [client, state] of this.#clients) {
      if (now - state.lastAlive > REMEMBER_MS) this.#clients.delete(client);
    }
  }

  #state(client: string): ClientState {
    let state = this.#clients.get(client);
    if (!state) {
      state = { lastAlive: 0, dead: false, asking: null };
      this.#clients.set(client, state);
    }
    return state;
  }

  async #ask(client: string, state: ClientState): Promise<boolean> {
    const { nc, names } = this.#connection;
    const since = Date.now();
    while (!nc.isClosed()) {
      try {
        await nc.request(names.client(client), Empty, { timeout: 1_000 });
        state.lastAlive = Date.now();
        return true;
      } catch {
        if (Date.now() - since >= CLIENT_GRACE_MS) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    state.dead = true;
    state.lastAlive = Math.max(state.lastAlive, since);
    return false;
  }
}
