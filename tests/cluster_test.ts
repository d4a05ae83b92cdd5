/**
 * The Pool API through a cluster: a real nats-server (started here), hosts served by the
 * library call `serveWorkerHost` in this process, and a client pool on `connectCluster`.
 * The faults (a host SIGKILLed, a server restarted, a client that dies) are in
 * cluster_faults_test.ts, with hosts as subprocesses started as users start them.
 */

import assert from "node:assert/strict";
import {
  PermissionError,
  Pool,
  QueueFullError,
  TaskError,
  taskModule,
  TimeoutError,
} from "../mod.ts";
import { connectCluster, serveWorkerHost, type WorkerHostOptions } from "../cluster.ts";
import { type NatsServer, natsTest, startNats } from "./_nats.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(
  new URL("./fixtures/math.ts", import.meta.url),
);
const FIXTURES = new URL("./fixtures/", import.meta.url).href;
let clusters = 0;

/** A server, `hosts` hosts and a client connection on a fresh cluster name. */
async function cluster(
  server: NatsServer,
  hosts: Partial<WorkerHostOptions>[],
  name = `t${++clusters}`,
) {
  const served = await Promise.all(hosts.map((options, i) =>
    serveWorkerHost({
      servers: server.url,
      name,
      size: 1,
      hostName: `host-${i}`,
      modules: [FIXTURES],
      allowInline: true,
      permissions: "inherit",
      ...(server.token ? { token: server.token } : {}),
      ...options,
    })
  ));
  const client = await connectCluster({
    servers: server.url,
    name,
    ...(server.token ? { token: server.token } : {}),
  });
  return {
    client,
    hosts: served,
    async [Symbol.asyncDispose]() {
      await client.close();
      await Promise.all(served.map((host) => host.close()));
    },
  };
}

/** Waits until `check` holds, or fails after `ms` with `what`. */
async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

natsTest("cluster: apply, map in order, starmap, imap, callbacks, through two hosts", async () => {
  await using server = await startNats();
  await using c = await cluster(server, [{}, {}]);
  await using pool = new Pool({ cluster: c.client });
  assert.equal(await pool.apply(math.square, [7]), 49);
  assert.equal(await pool.apply((a: number, b: number) => a * b, [6, 7]), 42);
  const items = Array.from({ length: 5_000 }, (_, i) => i);
  assert.deepEqual(await pool.map(math.square, items), items.map((x) => x * x));
  assert.deepEqual(await pool.starmap(math.add, [[1, 2], [3, 4]]), [3, 7]);
  const seen: number[] = [];
  for await (const value of pool.imap(math.square, [1, 2, 3, 4])) seen.push(value);
  assert.deepEqual(seen, [1, 4, 9, 16]);
  const unordered = [];
  for await (const value of pool.imapUnordered(math.square, [1, 2, 3])) unordered.push(value);
  assert.deepEqual(unordered.sort(), [1, 4, 9]);
  const called = Promise.withResolvers<number>();
  pool.applyAsync(math.square, [9], { callback: called.resolve });
  assert.equal(await called.promise, 81);
  const failed = Promise.withResolvers<unknown>();
  pool.applyAsync(
    () => {
      throw new RangeError("no");
    },
    [],
    { errorCallback: failed.resolve },
  );
  const error = await failed.promise;
  assert.ok(error instanceof TaskError);
  assert.ok((error as Error).cause instanceof RangeError);
  assert.equal(((error as Error).cause as Error).message, "no");
  // Both hosts were seen, and the workers are named by their host.
  const stats = pool.stats();
  assert.deepEqual(stats.hosts?.map((h) => h.name).sort(), ["host-0", "host-1"]);
  assert.ok(stats.workers.every((w) => w.host?.startsWith("host-")));
  assert.equal(stats.size, 2);
  assert.ok(stats.completed >= 5_000 + 8);
});

natsTest("cluster: arguments and results keep structured-clone fidelity", async () => {
  await using server = await startNats();
  await using c = await cluster(server, [{}]);
  await using pool = new Pool({ cluster: c.client });
  const value = {
    big: 2n ** 70n,
    map: new Map<unknown, unknown>([["a", 1], [2, new Set([3])]]),
    date: new Date(86_400_000),
    bytes: new Uint8Array([1, 2, 255]),
    floats: new Float64Array([0.5, -0]),
    missing: undefined,
    nested: [undefined, null, NaN],
  };
  // A map's numbers travel packed: -0, NaN, fractions and big integers come back as they were.
  const numbers = Array.from({ length: 40 }, (_, i) => [-0, NaN, 1.5, 2 ** 53, -i][i % 5]!);
  const same = await pool.map((x: number) => x, numbers);
  assert.ok(same.every((x, i) => Object.is(x, numbers[i])), String(same));
  const mixed = [...numbers, "text", 1n];
  assert.deepEqual(await pool.map((x: unknown) => x, mixed), mixed);
  const back = await pool.apply((v: unknown) => v, [value]);
  assert.deepEqual(back, value);
  assert.ok((back as typeof value).date instanceof Date);
  assert.ok("missing" in (back as object));
});

natsTest(
  "cluster: a host refuses modules outside --modules, inline functions without --allow-inline, permissions beyond its ceiling",
  async () => {
    await using server = await startNats();
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/inside.txt`, "inside");
    await using c = await cluster(server, [{
      modules: ["https://example.com/only/"],
      allowInline: false,
      permissions: { read: [dir] },
    }]);
    await using pool = new Pool({ cluster: c.client });
    await assert.rejects(pool.apply(math.square, [2]), (error: Error) => {
      assert.ok(error instanceof PermissionError, String(error));
      assert.match(error.message, /--modules/);
      return true;
    });
    await assert.rejects(pool.apply((x: number) => x, [1]), (error: Error) => {
      assert.ok(error instanceof PermissionError, String(error));
      assert.match(error.message, /--allow-inline/);
      return true;
    });
    // A map fails as a whole, with the same error, rather than waiting.
    await assert.rejects(pool.map(math.square, [1, 2, 3]), PermissionError);
    await Deno.remove(dir, { recursive: true });
  },
);

natsTest(
  "cluster: each task runs in a lane of exactly its permissions, never wider than the host's",
  async () => {
    await using server = await startNats();
    const dir = await Deno.makeTempDir();
    const other = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/inside.txt`, "inside");
    await Deno.writeTextFile(`${other}/outside.txt`, "outside");
    await using c = await cluster(server, [{ permissions: { read: [dir, other] } }]);
    await using pool = new Pool({ cluster: c.client });
    const read = (path: string) => Deno.readTextFileSync(path);
    // The host's ceiling (the default set): both readable.
    assert.equal(await pool.apply(read, [`${other}/outside.txt`]), "outside");
    // A narrower set: exactly that, so the other folder really is denied.
    const narrow = { permissions: { read: [dir] } };
    assert.equal(await pool.apply(read, [`${dir}/inside.txt`], narrow), "inside");
    await assert.rejects(pool.apply(read, [`${other}/outside.txt`], narrow), (error: Error) => {
      assert.ok(error instanceof TaskError, String(error));
      assert.equal((error.cause as Error).name, "NotCapable");
      return true;
    });
    // Beyond the ceiling: refused, never narrowed in silence.
    await assert.rejects(
      pool.apply(read, ["/etc/hostname"], { permissions: { read: ["/etc"] } }),
      (error: Error) => {
        assert.ok(error instanceof PermissionError, String(error));
        assert.match(error.message, /ceiling/);
        return true;
      },
    );
    await assert.rejects(pool.apply(() => 1, [], { permissions: { net: true } }), PermissionError);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  },
);

natsTest(
  "cluster: a timeout or an abort rejects at once; a queued task never starts, a running one is stopped on its host",
  async () => {
    await using server = await startNats();
    await using c = await cluster(server, [{}]);
    const host = c.hosts[0]!;
    await using pool = new Pool({ cluster: c.client });
    const started = new Set<number>();
    pool.addEventListener("taskstart", (event) => started.add(event.detail.taskId));
    const queuedIds: number[] = [];
    pool.addEventListener("taskqueued", (event) => queuedIds.push(event.detail.taskId));
    await until(() => pool.size === 1 && pool.stats().hosts?.length === 1, "the host to join");

    // A long task holds the host's one worker; a second waits for it, and is aborted.
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms));
    const long = pool.apply(sleep, [60_000], { timeout: 1_500 });
    const controller = new AbortController();
    const queued = pool.apply(sleep, [1], { signal: controller.signal });
    await until(() => started.size === 1, "the long task to start");
    const reason = new Error("not needed");
    controller.abort(reason);
    await assert.rejects(queued, (error) => error === reason);

    // The running one times out: rejected at once, and its host stops running it.
    await assert.rejects(long, TimeoutError);
    await until(() => host.stats().running === 0, "the host to stop the timed-out task");
    // The host is free again, and the aborted task never ran anywhere.
    assert.equal(await pool.apply(sleep, [5]), 5);
    assert.equal(started.has(queuedIds[1]!), false);
    const stats = pool.stats();
    assert.equal(stats.cancelled, 2);
    assert.equal(stats.queued, 0);
    assert.equal(stats.running, 0);
  },
);

natsTest("cluster: maxQueue counts what waits for a host", async () => {
  await using server = await startNats();
  await using c = await cluster(server, [{}]);
  await using pool = new Pool({ cluster: c.client, maxQueue: 2 });
  await until(() => pool.stats().hosts?.length === 1, "the host to join");
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(() => resolve(ms), ms));
  const calls = [pool.apply(sleep, [300]), pool.apply(sleep, [1]), pool.apply(sleep, [1])];
  assert.throws(() => pool.applyAsync(sleep, [1]), QueueFullError);
  assert.deepEqual(await Promise.all(calls), [300, 1, 1]);
});

natsTest(
  "cluster: a server that needs a token refuses a client without it, serves one with it",
  async () => {
    await using server = await startNats({ token: "s3cret" });
    await assert.rejects(
      connectCluster({ servers: server.url, name: "tok", connectTimeoutMs: 2_000 }),
      (error: Error) => {
        assert.match(error.message, /Cannot connect to the cluster/);
        assert.match(error.message, new RegExp(server.url));
        return true;
      },
    );
    await assert.rejects(
      serveWorkerHost({ servers: server.url, name: "tok", size: 1, token: "wrong" }),
      /Cannot serve a worker host/,
    );
    await using c = await cluster(server, [{}]);
    await using pool = new Pool({ cluster: c.client });
    assert.equal(await pool.apply(math.square, [5]), 25);
  },
);

natsTest("cluster: bad options fail clearly", async () => {
  await assert.rejects(connectCluster({ servers: "nats://127.0.0.1:1", name: "a b" }), TypeError);
  await assert.rejects(
    connectCluster({ servers: "nats://127.0.0.1:1", name: "x", maxDeliver: 0 }),
    RangeError,
  );
  await assert.rejects(
    serveWorkerHost({ servers: "nats://127.0.0.1:1", name: "x", size: 0 }),
    RangeError,
  );
  await assert.rejects(
    connectCluster({ servers: "nats://127.0.0.1:1", name: "x", connectTimeoutMs: 500 }),
    /Cannot connect to the cluster as the NATS server at nats:\/\/127\.0\.0\.1:1/,
  );
});

natsTest(
  "cluster: a host's own stats and events cover every client it serves (what --serve shows)",
  async () => {
    await using server = await startNats();
    await using c = await cluster(server, [{ size: 2 }]);
    const host = c.hosts[0]!;
    const ended: string[] = [];
    host.addEventListener("taskend", (event) => {
      ended.push((event as CustomEvent<{ task: string }>).detail.task);
    });
    await using one = new Pool({ cluster: c.client });
    await using two = new Pool({ cluster: c.client });
    await Promise.all([
      one.map(math.square, [1, 2, 3], { chunksize: 1 }),
      two.starmap(math.add, [[1, 2], [3, 4]], { chunksize: 1 }),
      two.apply(math.square, [4]),
    ]);
    assert.ok(ended.filter((name) => name === "square").length >= 4, ended.join());
    const stats = host.stats();
    assert.ok(stats.completed >= 4);
    const ids = stats.workers.map((w) => w.id);
    assert.equal(new Set(ids).size, ids.length, `worker ids collide: ${ids}`);
    assert.ok(stats.workers.length >= 2, "each client has its own local pool on the host");
  },
);

natsTest(
  "cluster: arguments or a result beyond the server's message limit fail clearly; many small ones are split",
  async () => {
    await using server = await startNats();
    await using c = await cluster(server, [{}]);
    await using pool = new Pool({ cluster: c.client });
    const big = new Uint8Array(2 * 1024 * 1024);
    await assert.rejects(pool.apply((b: Uint8Array) => b.length, [big]), (error: Error) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /max_payload/);
      return true;
    });
    await assert.rejects(pool.apply(() => new Uint8Array(2 * 1024 * 1024), []), (error: Error) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /Cannot return the result .* max_payload/);
      return true;
    });
    // 300 tiny tasks of 10 KiB each: 3 MB in all, more than one message may carry.
    const pieces = Array.from({ length: 300 }, (_, i) => new Uint8Array(10 * 1024).fill(i % 256));
    const sums = await Promise.all(
      pieces.map((p) => pool.apply((b: Uint8Array) => b[0]! + b.length, [p])),
    );
    assert.deepEqual(sums, pieces.map((p) => p[0]! + p.length));
    // Plain arrays are not counted as binary: a batch of them passes the limit and is halved.
    const count = (a: number[]) => a.length;
    await pool.apply(count, [[1]]); // now known to be tiny, so the next ones travel together
    const arrays = Array.from(
      { length: 120 },
      (_, i) => Array.from({ length: 5_000 + i }, Math.random),
    );
    const lengths = await Promise.all(arrays.map((a) => pool.apply(count, [a])));
    assert.deepEqual(lengths, arrays.map((a) => a.length));
    // And results: a host's outcomes gathered together are split the same way.
    const make = (n: number) => Array.from({ length: n }, Math.random);
    await pool.apply(make, [1]);
    const made = await Promise.all(Array.from({ length: 80 }, () => pool.apply(make, [5_000])));
    assert.ok(made.every((a) => a.length === 5_000));
    assert.equal(await pool.apply(() => "still works", []), "still works");
  },
);
