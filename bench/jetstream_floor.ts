/**
 * W8's raw JetStream floor: what a cluster call would cost if it did nothing but move tasks
 * through JetStream and replies back over core NATS. Tasks go to a fresh work-queue stream
 * (file storage); one consumer process (`scripts/jetstream_echo.ts`) acks each and publishes
 * its reply on a core subject; this side resolves each task's promise by id.
 *
 * ```sh
 * deno run -A bench/jetstream_floor.ts --servers nats://127.0.0.1:4222 [--tasks 20000]
 * ```
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";

const ECHO = new URL("./scripts/jetstream_echo.ts", import.meta.url);
const PROJECT_ROOT = new URL("../", import.meta.url);
/** A run that takes longer fails rather than hangs the bench. */
const RUN_TIMEOUT_MS = 120_000;
/** Each PubAck may wait behind all the publishes before it, so the client default (5 s) is short. */
const PUBLISH_TIMEOUT_MS = 60_000;

type Reply = { readonly id: number; readonly value: number };

/** What one floor run measured: from the first publish to the last reply. */
export interface JetStreamFloor {
  readonly usPerTask: number;
  readonly tasksPerSecond: number;
}

function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** The echo consumer as its own process; resolves once it is pulling. */
async function startEcho(args: string[]): Promise<{ stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", pathOf(ECHO), ...args],
    cwd: pathOf(PROJECT_ROOT), // so that deno.json's imports apply
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const drainRest = async () => {
    while (!(await lines.read()).done) { /* the echo prints nothing after "ready" */ }
  };
  const stop = async () => {
    await child.stdin.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    try {
      await Promise.all([child.status, stderr, drainRest()]);
    } finally {
      clearTimeout(timer);
    }
  };
  while (!out.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) {
      await stop();
      throw new Error(
        `Cannot measure the JetStream floor as the echo consumer exited before it was ready: ` +
          `${(await stderr).trim() || "(no output)"}`,
      );
    }
    out += value;
  }
  return { stop };
}

/**
 * Runs `tasks` tiny tasks (`x → x * x`) through a fresh work-queue stream and one echo
 * consumer process, all published at once, and times first publish to last reply.
 *
 * @param options.servers The NATS server URL(s), e.g. `nats://127.0.0.1:4222`.
 * @param options.tasks How many tasks.
 * @throws Error when a reply is missing or wrong, or the run exceeds two minutes.
 */
export async function measureJetStreamFloor(
  options: { servers: string; tasks: number },
): Promise<JetStreamFloor> {
  const { servers, tasks } = options;
  if (!Number.isInteger(tasks) || tasks < 1) {
    throw new RangeError(
      `Cannot measure the JetStream floor as 'tasks' must be a positive integer: current value is ${tasks}`,
    );
  }
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const stream = `SEED_FLOOR_${run}`;
  const subject = `seed.floor.${run}.tasks`;
  const replies = `seed.floor.${run}.replies`;
  const nc: NatsConnection = await connect({ servers, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc, { timeout: PUBLISH_TIMEOUT_MS });
  let echo: { stop(): Promise<void> } | undefined;
  try {
    await jsm.streams.add({
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
    await jsm.consumers.add(stream, { durable_name: "echo", ack_policy: AckPolicy.Explicit });
    echo = await startEcho([
      "--servers",
      servers,
      "--stream",
      stream,
      "--consumer",
      "echo",
      "--replies",
      replies,
    ]);

    const pending = new Map<number, (value: number) => void>();
    const results: Promise<number>[] = [];
    for (let id = 0; id < tasks; id++) {
      results.push(new Promise((resolve) => pending.set(id, resolve)));
    }
    const sub = nc.subscribe(replies, {
      callback: (error, msg) => {
        if (error) return;
        const reply = msg.json<Reply>();
        const resolve = pending.get(reply.id);
        pending.delete(reply.id);
        resolve?.(reply.value);
      },
    });
    await nc.flush(); // the subscription is in place before the first task can be answered

    const js = jsm.jetstream();
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Cannot measure the JetStream floor as ${pending.size} of ${tasks} tasks had no ` +
                `reply after ${RUN_TIMEOUT_MS} ms`,
            ),
          ),
        RUN_TIMEOUT_MS,
      );
    });
    try {
      const start = performance.now();
      const acks = [];
      for (let id = 0; id < tasks; id++) {
        acks.push(js.publish(subject, encoder.encode(JSON.stringify({ id, x: id }))));
      }
      const values = await Promise.race([
        Promise.all([Promise.all(results), Promise.all(acks)]).then(([values]) => values),
        deadline,
      ]);
      const ms = performance.now() - start;
      values.forEach((value, id) => {
        if (value !== id * id) {
          throw new Error(
            `Cannot trust the JetStream floor as task ${id} got ${value}, not ${id * id}`,
          );
        }
      });
      return { usPerTask: (ms * 1000) / tasks, tasksPerSecond: tasks / (ms / 1000) };
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
  } finally {
    await echo?.stop();
    await jsm.streams.delete(stream).catch(() => {});
    await nc.close();
  }
}

if (import.meta.main) {
  const arg = (name: string) => {
    const at = Deno.args.indexOf(`--${name}`);
    return at === -1 ? undefined : Deno.args[at + 1];
  };
  const servers = arg("servers");
  if (servers === undefined) {
    console.error("usage: deno run -A bench/jetstream_floor.ts --servers URL [--tasks N]");
    Deno.exit(2);
  }
  const tasks = Number(arg("tasks") ?? 20_000);
  const floor = await measureJetStreamFloor({ servers, tasks });
  console.log(
    `JetStream floor, ${tasks} tasks: ${floor.usPerTask.toFixed(1)} µs/task, ` +
      `${Math.round(floor.tasksPerSecond)} tasks/s`,
  );
}
