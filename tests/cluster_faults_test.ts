/**
 * A cluster under faults, with hosts as users start them (`deno task pool worker`, as
 * subprocesses) on a real nats-server: a host SIGKILLed mid-map, a host joining mid-map,
 * the server restarted mid-map, tasks whose hosts keep dying, a client that dies, and a
 * host that is asked to stop while it runs a task.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { Pool, taskModule, WorkerCrashError } from "../mod.ts";
import { connectCluster } from "../cluster.ts";
import { natsTest, startNats } from "./_nats.ts";
import { startHost } from "./_cluster.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(
  new URL("./fixtures/math.ts", import.meta.url),
);
const FIXTURES = new URL("./fixtures/", import.meta.url).href;
const HOST_ARGS = ["-j", "1", "--modules", FIXTURES, "--ack-wait", "1500", "--allow-all"];

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Counts each task's successful `taskend`: every task must end well exactly once. */
function endings(pool: Pool): Map<number, number> {
  const ends = new Map<number, number>();
  pool.addEventListener("taskend", (event) => {
    if (event.detail.ok) ends.set(event.detail.taskId, (ends.get(event.detail.taskId) ?? 0) + 1);
  });
  return ends;
}

natsTest(
  "cluster faults: a host SIGKILLed mid-map loses nothing; every result arrives once",
  async () => {
    await using server = await startNats();
    await using a = await startHost(server, "kill", "a", HOST_ARGS);
    await using b = await startHost(server, "kill", "b", HOST_ARGS);
    await using cluster = await connectCluster({ servers: server.url, name: "kill" });
    await using pool = new Pool({ cluster });
    const ends = endings(pool);
    await until(() => pool.size === 2, "both hosts to be seen");
    const items = Array.from({ length: 40 }, (_, i) => [i, 40] as [number, number]);
    const done = pool.starmap(math.later, items, { chunksize: 1 });
    await until(
      () => (pool.stats().hosts?.find((h) => h.name === "a")?.completed ?? 0) >= 3,
      "a to work",
    );
    assert.equal(await a.kill(), 137);
    assert.deepEqual(await done, items.map(([x]) => x));
    assert.equal(ends.size, 40);
    assert.ok([...ends.values()].every((n) => n === 1), "a task ended twice");
    const stats = pool.stats();
    assert.equal(stats.completed, 40);
    assert.equal(stats.failed, 0);
    await until(
      () => pool.stats().hosts?.find((h) => h.name === "a")?.state === "left",
      "a to be gone",
    );
    assert.ok((pool.stats().hosts?.find((h) => h.name === "b")?.completed ?? 0) > 0);
    await b.stop();
  },
);

natsTest("cluster faults: a host that joins mid-map takes work", async () => {
  await using server = await startNats();
  await using a = await startHost(server, "join", "a", HOST_ARGS);
  await using cluster = await connectCluster({ servers: server.url, name: "join" });
  await using pool = new Pool({ cluster });
  const items = Array.from({ length: 60 }, (_, i) => [i, 60] as [number, number]);
  const done = pool.starmap(math.later, items, { chunksize: 1 });
  await until(() => pool.stats().completed >= 3, "the map to start");
  await using b = await startHost(server, "join", "b", HOST_ARGS);
  assert.deepEqual(await done, items.map(([x]) => x));
  const late = pool.stats().hosts?.find((h) => h.name === "b");
  assert.ok(late && late.completed > 0, `b took no work: ${JSON.stringify(pool.stats().hosts)}`);
  await a.stop();
  await b.stop();
});

natsTest("cluster faults: nats-server restarted mid-map; the map completes", async () => {
  await using server = await startNats();
  await using a = await startHost(server, "restart", "a", HOST_ARGS);
  await using b = await startHost(server, "restart", "b", HOST_ARGS);
  await using cluster = await connectCluster({ servers: server.url, name: "restart" });
  await using pool = new Pool({ cluster });
  const ends = endings(pool);
  const items = Array.from({ length: 60 }, (_, i) => [i, 30] as [number, number]);
  const done = pool.starmap(math.later, items, { chunksize: 1 });
  await until(() => pool.stats().completed >= 5, "the map to start");
  await server.restart();
  assert.deepEqual(await done, items.map(([x]) => x));
  assert.ok([...ends.values()].every((n) => n === 1), "a task ended twice");
  // The cluster still serves new calls after the restart.
  assert.equal(await pool.apply(math.square, [12]), 144);
  await a.stop();
  await b.stop();
});

natsTest(
  "cluster faults: a task whose hosts keep dying fails with WorkerCrashError after maxDeliver",
  async () => {
    await using server = await startNats();
    const args = ["-j", "1", "--allow-inline", "--ack-wait", "1000", "--allow-all"];
    const hosts = await Promise.all(
      ["a", "b", "c"].map((n) => startHost(server, "doomed", n, args)),
    );
    await using cluster = await connectCluster({
      servers: server.url,
      name: "doomed",
      maxDeliver: 2,
    });
    await using pool = new Pool({ cluster });
    // Each delivery kills the host that runs it (the host's ceiling is --allow-all).
    const error = await pool.apply(() => Deno.kill(Deno.pid, "SIGKILL"), []).then(
      () => null,
      (e) => e,
    );
    assert.ok(error instanceof WorkerCrashError, String(error));
    assert.match(error.message, /delivered 2 times/);
    const codes = await Promise.all(hosts.map(async (host) => {
      const code = await Promise.race([host.exited, new Promise((r) => setTimeout(r, 100, null))]);
      await host.kill();
      return code;
    }));
    assert.equal(codes.filter((code) => code === 137).length, 2, `exit codes ${codes}`);
  },
);

natsTest(
  "cluster faults: a client that dies leaves nothing running for ever on the hosts",
  async () => {
    await using server = await startNats();
    const dir = await Deno.makeTempDir();
    await using host = await startHost(server, "orphan", "a", [
      "-j",
      "1",
      "--allow-inline",
      "--allow-all",
    ]);
    const client = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./fixtures/cluster_client.ts", import.meta.url).pathname],
      env: { NATS_URL: server.url, CLUSTER: "orphan", DIR: dir, TASKS: "20" },
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    // It prints once its tasks are published and the first has run.
    const reader = client.stdout.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /published/);
    client.kill("SIGKILL");
    await client.status;
    // Its running task would sleep a minute, and three more wait in the stream: within the
    // hosts' grace for a silent client, the one is stopped and acknowledged, the rest purged.
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const stream = await jsm.streams.info("SEEDPOOL_ORPHAN_TASKS");
      const consumer = await jsm.consumers.info("SEEDPOOL_ORPHAN_TASKS", "hosts");
      if (stream.state.messages === 0 && consumer.num_ack_pending === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `a dead client's tasks are still held: ${stream.state.messages} queued, ` +
            `${consumer.num_ack_pending} running`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await nc.close();
    assert.equal([...Deno.readDirSync(dir)].length, 1, "another task of the dead client started");
    await host.stop();
    await Deno.remove(dir, { recursive: true });
  },
);

natsTest(
  "cluster faults: SIGTERM lets a host finish the task it runs, then it leaves",
  async () => {
    await using server = await startNats();
    await using host = await startHost(server, "graceful", "a", HOST_ARGS);
    await using cluster = await connectCluster({ servers: server.url, name: "graceful" });
    await using pool = new Pool({ cluster });
    const started = Promise.withResolvers<void>();
    pool.addEventListener("taskstart", () => started.resolve());
    const result = pool.apply(math.later, [7, 1_000]);
    await started.promise;
    const code = host.stop();
    assert.equal(await result, 7);
    assert.equal(await code, 0);
    assert.match(host.stderr(), /pool worker: host a left cluster graceful/);
    await until(() => pool.stats().hosts?.[0]?.state === "left", "the host to be seen leaving");
  },
);

/** A TCP relay to the server that can be cut: the client behind it loses the server. */
class Relay implements AsyncDisposable {
  readonly #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly #open = new Set<Deno.Conn>();
  #cut = false;
  readonly url = `nats://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;

  constructor(readonly port: number) {
    this.#accept();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      if (this.#cut) {
        conn.close();
        continue;
      }
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
      this.#open.add(conn).add(upstream);
      const close = () => {
        for (const c of [conn, upstream]) {
          this.#open.delete(c);
          try {
            c.close();
          } catch { /* closed already */ }
        }
      };
      conn.readable.pipeTo(upstream.writable).catch(() => {}).finally(close);
      upstream.readable.pipeTo(conn.writable).catch(() => {}).finally(close);
    }
  }

  /** Drops every connection and refuses new ones until `mend()`. */
  cut(): void {
    this.#cut = true;
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch { /* closed already */ }
    }
    this.#open.clear();
  }

  mend(): void {
    this.#cut = false;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.cut();
    this.#listener.close();
    return Promise.resolve();
  }
}

natsTest(
  "cluster faults: a client cut off longer than the hosts' grace gets every result once it is back",
  async () => {
    await using server = await startNats();
    await using host = await startHost(server, "cutoff", "a", HOST_ARGS);
    await using relay = new Relay(server.port);
    await using cluster = await connectCluster({ servers: relay.url, name: "cutoff" });
    await using pool = new Pool({ cluster });
    const items = Array.from({ length: 12 }, (_, i) => [i, 500] as [number, number]);
    const done = pool.starmap(math.later, items, { chunksize: 1 });
    await until(() => pool.stats().completed >= 1, "the map to start");
    // The host takes the silent client for dead (10 s), stops its task and purges the rest.
    relay.cut();
    await new Promise((resolve) => setTimeout(resolve, 14_000));
    relay.mend();
    assert.deepEqual(await done, items.map(([x]) => x));
    await host.stop();
  },
);
