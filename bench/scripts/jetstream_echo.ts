/**
 * W8's raw consumer: pulls tasks `{ id, x }` from a JetStream work-queue consumer, acks each,
 * and publishes `{ id, value: x * x }` on a core NATS subject. It prints `ready` once it is
 * pulling, and exits when its stdin closes (so it never outlives the bench).
 *
 * ```sh
 * deno run -A bench/scripts/jetstream_echo.ts --servers nats://127.0.0.1:4222 \
 *   --stream S --consumer echo --replies seed.floor.replies
 * ```
 */

import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";

/** Pull batch: large enough to keep the pipe full, small enough to stay balanced. */
const MAX_MESSAGES = 1000;

function flag(name: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  const value = at === -1 ? undefined : Deno.args[at + 1];
  if (value === undefined) throw new TypeError(`Cannot start the echo as --${name} is missing`);
  return value;
}

const servers = flag("servers");
const replies = flag("replies");
const nc = await connect({ servers, noAsyncTraces: true });
const consumer = await jetstream(nc).consumers.get(flag("stream"), flag("consumer"));
const encoder = new TextEncoder();
const messages = await consumer.consume({
  max_messages: MAX_MESSAGES,
  callback: (m) => {
    const { id, x } = m.json<{ id: number; x: number }>();
    m.ack();
    nc.publish(replies, encoder.encode(JSON.stringify({ id, value: x * x })));
  },
});
await nc.flush();
console.log("ready");

// The parent closes our stdin to stop us; reading it to the end is the wait.
for await (const _ of Deno.stdin.readable) { /* nothing is sent */ }
await messages.close();
await nc.drain();
