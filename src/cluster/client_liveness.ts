// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * Whether a client still waits for its tasks: a host asks the client's responder before it
 * runs the client's work, and again while that work runs. A client that does not answer for
 * {@link CLIENT_GRACE_MS} (a server restart takes less) is taken for dead: its tasks are
 * dropped, so nothing it left behind runs for ever. Only a goodbye is final: a client taken
 * for dead by its silence is asked once more when more of its work comes (it was cut off,
 * and publishes again what was dropped when it is back: see the executor's `recover`).
 *
 * @module
 */

import { Empty } from "npm:@nats-io/transport-node@3.4.0";
import type { ClusterConnection } from "./connection.ts";

/** A client silent this long is dead. */
export const CLIENT_GRACE_MS = 10_000;
/** An answer is trusted this long. */
const FRESH_MS = 2_000;
/** Between two questions to a silent client. */
const RETRY_MS = 500;
/** Dead clients are remembered this long (their messages may still come). */
const REMEMBER_MS = 10 * 60_000;

interface ClientState {
  lastAlive: number;
  /** Gone: it said goodbye (for good), or fell silent (asked again, once, on new work). */
  dead: "goodbye" | "silent" | null;
  /** When it was last asked, without an answer. */
  silentSince: number;
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
    return (this.#clients.get(client)?.dead ?? null) !== null;
  }

  /** Marks a client dead: it said goodbye. */
  markGone(client: string): void {
    this.#state(client).dead = "goodbye";
  }

  /** Whether `client` is alive; asks it when its last answer is not fresh. */
  alive(client: string): Promise<boolean> {
    const state = this.#state(client);
    if (state.dead === "goodbye") return Promise.resolve(false);
    const now = Date.now();
    if (state.dead === "silent" && now - state.silentSince < FRESH_MS) {
      return Promise.resolve(false);
    }
    if (state.dead === null && now - state.lastAlive < FRESH_MS) return Promise.resolve(true);
    // Taken for dead already: one question, not another grace period, per message.
    const grace = state.dead === "silent" ? 0 : CLIENT_GRACE_MS;
    state.asking ??= this.#ask(client, state, grace).finally(() => state.asking = null);
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
      state = { lastAlive: 0, dead: null, silentSince: 0, asking: null };
      this.#clients.set(client, state);
    }
    return state;
  }

  async #ask(client: string, state: ClientState, graceMs: number): Promise<boolean> {
    const { nc, names } = this.#connection;
    const since = Date.now();
    while (!nc.isClosed()) {
      try {
        await nc.request(names.client(client), Empty, { timeout: 1_000 });
        state.lastAlive = Date.now();
        if (state.dead === "silent") state.dead = null;
        return true;
      } catch {
        // A goodbye heard meanwhile ends the wait: the client is gone for good.
        if (state.dead === "goodbye" || Date.now() - since >= graceMs) break;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    if (state.dead === null) state.dead = "silent";
    state.silentSince = Date.now();
    state.lastAlive = Math.max(state.lastAlive, since);
    return false;
  }
}
