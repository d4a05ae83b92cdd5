/**
 * W8's rig: a loopback `nats-server -js`, worker hosts started as users start them
 * (`deno task pool worker`, one subprocess each), and a cluster pool on them. A host may be
 * SIGKILLed mid-run; `ready()` brings the rig back to its full set of live hosts, seen by the
 * pool, before the next timing.
 *
 * @module
 */

import type { Pool } from "../mod.ts";
import type { Cluster } from "../cluster.ts";
import type { NatsServer } from "../tests/_nats.ts";
import { type HostProcess, startHost } from "../tests/_cluster.ts";
import type { Seed } from "./harness.ts";

/** `../cluster.ts`, loaded only when W8 runs (it brings the NATS client). */
type ClusterModule = typeof import("../cluster.ts");

/** How long the pool may take to see a host join or a killed one leave. */
const ROSTER_TIMEOUT_MS = 30_000;

/** Hosts not yet stopped, killed when this process unloads so none outlives a failed bench. */
const live = new Set<HostProcess>();
globalThis.addEventListener("unload", () => {
  for (const host of live) {
    try {
      host.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** What a rig is made of. */
export interface RigOptions {
  /** The cluster's name. */
  readonly cluster: string;
  /** The hosts' slots; a replacement of a killed host takes its slot's name and a number. */
  readonly slots: readonly string[];
  /** The arguments of `pool worker` after `--nats`, `--cluster` and `--name`. */
  readonly hostArgs: readonly string[];
}

/** A running rig: hosts on a server (started and stopped by its owner), and a cluster pool. */
export class ClusterRig {
  readonly server: NatsServer;
  readonly pool: Pool;
  readonly #cluster: Cluster;
  readonly #options: RigOptions;
  readonly #hosts = new Map<string, HostProcess>();
  readonly #replacements = new Map<string, number>();

  private constructor(server: NatsServer, cluster: Cluster, pool: Pool, options: RigOptions) {
    this.server = server;
    this.#cluster = cluster;
    this.pool = pool;
    this.#options = options;
  }

  /** Starts every host on `server`, connects a cluster pool, and waits until it sees them. */
  static async start(server: NatsServer, seed: Seed, options: RigOptions): Promise<ClusterRig> {
    const url = new URL("../cluster.ts", import.meta.url).href;
    const { connectCluster } = await import(url) as ClusterModule;
    const cluster = await connectCluster({ servers: server.url, name: options.cluster });
    const rig = new ClusterRig(server, cluster, new seed.Pool({ cluster }), options);
    try {
      await rig.ready();
    } catch (error) {
      await rig.close();
      throw error;
    }
    return rig;
  }

  /** The names of the live hosts. */
  get hostNames(): string[] {
    return [...this.#hosts.values()].map((host) => host.name);
  }

  /**
   * Starts a host in every slot that has none (or whose host died), and resolves once the
   * pool sees exactly the live hosts joined, so that its size, and so its chunking, is that
   * of the full rig again.
   */
  async ready(): Promise<void> {
    const missing = this.#options.slots.filter((slot) => !this.#hosts.has(slot));
    await Promise.all(missing.map(async (slot) => {
      const count = this.#replacements.get(slot) ?? 0;
      this.#replacements.set(slot, count + 1);
      const name = count === 0 ? slot : `${slot}${count + 1}`;
      const host = await startHost(this.server, this.#options.cluster, name, [
        ...this.#options.hostArgs,
      ]);
      live.add(host);
      host.exited.then(() => live.delete(host));
      this.#hosts.set(slot, host);
    }));
    const wanted = this.hostNames.sort().join(",");
    const joined = () =>
      (this.pool.stats().hosts ?? []).filter((host) => host.state === "joined")
        .map((host) => host.name).sort().join(",");
    const deadline = Date.now() + ROSTER_TIMEOUT_MS;
    while (joined() !== wanted) {
      if (Date.now() > deadline) {
        throw new Error(
          `Cannot ready the cluster rig as the pool sees hosts [${joined()}] joined, not ` +
            `[${wanted}], after ${ROSTER_TIMEOUT_MS} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGKILLs the host of `slot` and resolves once it exited; `ready()` replaces it. */
  async kill(slot: string): Promise<void> {
    const host = this.#hosts.get(slot);
    if (!host) throw new Error(`Cannot kill the host of slot ${slot} as it has none`);
    this.#hosts.delete(slot);
    await host.kill();
  }

  /** Ends the pool and the connection, and stops the hosts (SIGTERM); the server stays. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        errors.push(error);
      }
    };
    await attempt(() => this.pool.terminate());
    await attempt(() => this.#cluster.close());
    await Promise.all([...this.#hosts.values()].map((host) => attempt(() => stopHost(host))));
    this.#hosts.clear();
    if (errors.length > 0) throw errors[0];
  }
}

/** SIGTERM, and SIGKILL if the host has not ended within 10 s. */
async function stopHost(host: HostProcess): Promise<void> {
  const timer = setTimeout(() => void host.kill(), 10_000);
  try {
    await host.stop();
  } finally {
    clearTimeout(timer);
  }
}
