import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import {
  AckPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { natsTest, startNats } from "./_nats.ts";
import { measureJetStreamFloor } from "../bench/jetstream_floor.ts";

/** Adds a file-stored stream `name` on `name.>` with a durable explicit-ack consumer "c". */
async function addStream(servers: string, name: string, options: { token?: string } = {}) {
  const nc = await connect({ servers, ...options });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name,
    subjects: [`${name}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
  });
  await jsm.consumers.add(name, { durable_name: "c", ack_policy: AckPolicy.Explicit });
  await nc.close();
}

/** Publishes `payloads` to `subject` through JetStream, each one acknowledged by the server. */
async function publishAll(servers: string, subject: string, payloads: string[]) {
  const nc = await connect({ servers });
  const js = jetstream(nc);
  for (const payload of payloads) await js.publish(subject, payload);
  await nc.close();
}

/** Fetches up to `count` messages of consumer "c" of `stream`, acking each. */
async function consumeAll(servers: string, stream: string, count: number): Promise<string[]> {
  const nc = await connect({ servers });
  const consumer = await jetstream(nc).consumers.get(stream, "c");
  const got: string[] = [];
  const batch = await consumer.fetch({ max_messages: count, expires: 2_000 });
  for await (const m of batch) {
    got.push(m.string());
    await m.ackAck();
  }
  await nc.close();
  return got;
}

natsTest("startNats() serves JetStream: a published message is consumed", async () => {
  await using server = await startNats();
  assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
  assert.ok((await Deno.stat(server.storeDir)).isDirectory);
  await addStream(server.url, "T");
  await publishAll(server.url, "T.a", ["one", "two"]);
  assert.deepEqual(await consumeAll(server.url, "T", 2), ["one", "two"]);
});

natsTest("NatsServer.restart() keeps a file-stored stream's messages", async () => {
  await using server = await startNats();
  const port = server.port;
  await addStream(server.url, "R");
  await publishAll(server.url, "R.a", ["kept-1", "kept-2", "kept-3"]);
  await server.restart();
  assert.equal(server.port, port);
  assert.deepEqual(await consumeAll(server.url, "R", 3), ["kept-1", "kept-2", "kept-3"]);
});

natsTest("NatsServer.kill() then restart() recovers the stream from its store", async () => {
  await using server = await startNats();
  await addStream(server.url, "K");
  await publishAll(server.url, "K.a", ["acked-before-crash"]);
  await server.kill();
  await assert.rejects(connect({ servers: server.url, reconnect: false }));
  await server.restart();
  assert.deepEqual(await consumeAll(server.url, "K", 1), ["acked-before-crash"]);
});

natsTest(
  "NatsServer.restart() waits for its port while another socket still holds it",
  async () => {
    await using server = await startNats();
    await server.kill();
    // Stands in for the old server's socket lingering (TIME_WAIT) or a slow exit.
    const holder = Deno.listen({ hostname: "127.0.0.1", port: server.port });
    const released = new Promise((resolve) => setTimeout(resolve, 1_000)).then(() =>
      holder.close()
    );
    await server.restart();
    await released;
    const nc = await connect({ servers: server.url });
    assert.equal(nc.getServer(), `127.0.0.1:${server.port}`);
    await nc.close();
  },
);

natsTest("NatsServer.stop() ends the server, removes its store and is idempotent", async () => {
  const server = await startNats();
  await server.stop();
  await server.stop();
  await assert.rejects(connect({ servers: server.url, reconnect: false }));
  await assert.rejects(Deno.stat(server.storeDir), Deno.errors.NotFound);
  await assert.rejects(server.restart(), /Cannot restart nats-server .* stopped/);
});

/**
 * Asserts that connecting with `options` is refused for lack of authorization.
 *
 * When the server closes a refused connection, Deno's node:net can report ECONNRESET on
 * the socket after @nats-io/transport-node 3.4.0 has removed its listeners and rejected
 * `connect()`: an uncaught error that would fail whichever test is running. This waits
 * (at most half a second) for that stray reset and swallows it, and only it.
 */
async function assertRefused(options: { servers: string; token?: string }): Promise<void> {
  let sawReset!: () => void;
  const reset = new Promise<void>((resolve) => sawReset = resolve);
  const onError = (event: ErrorEvent) => {
    if ((event.error as { code?: string } | undefined)?.code !== "ECONNRESET") return;
    event.preventDefault();
    sawReset();
  };
  globalThis.addEventListener("error", onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await assert.rejects(connect({ ...options, reconnect: false }), /authorization/i);
    await Promise.race([reset, new Promise((resolve) => timer = setTimeout(resolve, 500))]);
  } finally {
    clearTimeout(timer);
    globalThis.removeEventListener("error", onError);
  }
}

natsTest(
  "startNats({ token }) rejects a client without the token, accepts one with it",
  async () => {
    await using server = await startNats({ token: "s3cret" });
    assert.equal(server.token, "s3cret");
    await assertRefused({ servers: server.url });
    await assertRefused({ servers: server.url, token: "wrong" });
    const nc = await connect({ servers: server.url, token: "s3cret" });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "A", subjects: ["A.>"] });
    assert.equal((await js.publish("A.x", "hi")).seq, 1);
    await nc.close();
  },
);

natsTest("measureJetStreamFloor() resolves every task through a real server", async () => {
  await using server = await startNats();
  const floor = await measureJetStreamFloor({ servers: server.url, tasks: 500 });
  assert.ok(Number.isFinite(floor.usPerTask) && floor.usPerTask > 0);
  assert.ok(Number.isFinite(floor.tasksPerSecond) && floor.tasksPerSecond > 0);
  // The run's stream is gone afterwards: the floor leaves the server as it found it.
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  assert.deepEqual(names, []);
  await nc.close();
});
