// deno-lint-ignore-file no-import-prefix -- imported by path or URL, it must not need an import map
/**
 * A NATS connection for a cluster's client or host: the options passed through to the NATS
 * client (servers, token, user and password, creds file, TLS), reconnecting for ever, and
 * the cluster's two streams made when they are not there yet.
 *
 * @module
 */

import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "npm:@nats-io/transport-node@3.4.0";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
import type { ClusterConnectionOptions } from "./client.ts";
import { type ClusterNames, clusterNames, nanosOf } from "./wire.ts";

/** A live connection to a cluster. */
export interface ClusterConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: ClusterNames;
  /** The server's message limit, bytes. */
  readonly maxPayload: number;
}

/** Results wait this long in their stream for a client that reconnects. */
const RESULTS_MAX_AGE_MS = 15 * 60_000;

/**
 * Connects and makes the cluster's streams.
 *
 * @throws {TypeError} for options of the wrong shape.
 * @throws {Error} when the server cannot be reached or refuses us (the message names it).
 */
export async function openClusterConnection(
  options: ClusterConnectionOptions,
  where: string,
): Promise<ClusterConnection> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot ${where} as its options must be an object`);
  }
  const names = clusterNames(options.name, where);
  const servers = serverList(options.servers, where);
  const natsOptions = await connectionOptions(options, servers, where);
  let nc: NatsConnection;
  const stray = catchStrayReset();
  try {
    nc = await connect(natsOptions);
    stray.stop();
  } catch (error) {
    await stray.settle();
    throw new Error(
      `Cannot ${where} as the NATS server at ${servers.join(", ")} ` +
        `cannot be reached or refused us: ${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, names.tasksStream, {
      subjects: [names.allTasks],
      retention: RetentionPolicy.Workqueue,
    });
    await ensureStream(jsm, names.resultsStream, {
      subjects: [names.allResults],
      retention: RetentionPolicy.Limits,
      max_age: nanosOf(RESULTS_MAX_AGE_MS),
    });
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    return { nc, js: jetstream(nc), jsm, names, maxPayload };
  } catch (error) {
    await nc.close().catch(() => {});
    throw new Error(
      `Cannot ${where} as the NATS server at ${servers.join(", ")} has no JetStream ` +
        `(start it with -js) or refused to make the cluster's streams: ` +
        `${(error as Error)?.message ?? error}`,
      { cause: error },
    );
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  config: { subjects: string[]; retention: RetentionPolicy; max_age?: number },
): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch {
    // Not there yet: made below (two clients racing both succeed, one as a no-op).
  }
  try {
    await jsm.streams.add({ name, storage: StorageType.File, ...config });
  } catch (error) {
    // Another client or host made it meanwhile.
    await jsm.streams.info(name).catch(() => {
      throw error;
    });
  }
}

function serverList(servers: unknown, where: string): string[] {
  const list = typeof servers === "string" ? servers.split(",") : servers;
  if (
    !Array.isArray(list) || list.length === 0 ||
    list.some((s) => typeof s !== "string" || s.trim() === "")
  ) {
    throw new TypeError(
      `Cannot ${where} as 'servers' must be a NATS URL or a list of them (nats://host:4222)`,
    );
  }
  return list.map((s: string) => s.trim());
}

async function connectionOptions(
  options: ClusterConnectionOptions,
  servers: string[],
  where: string,
): Promise<NodeConnectionOptions> {
  const natsOptions: NodeConnectionOptions = {
    servers,
    name: `seedpool:${options.name}`,
    maxReconnectAttempts: -1,
    // Async stack traces cost every request an Error object; ours report their own context.
    noAsyncTraces: true,
    reconnectTimeWait: 250,
    timeout: options.connectTimeoutMs ?? 10_000,
  };
  if (options.token !== undefined) natsOptions.token = options.token;
  if (options.user !== undefined) natsOptions.user = options.user;
  if (options.pass !== undefined) natsOptions.pass = options.pass;
  if (options.credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = await Deno.readFile(options.credsFile);
    } catch (error) {
      throw new Error(
        `Cannot ${where} as the creds file ${options.credsFile} cannot be read: ` +
          `${(error as Error).message}`,
      );
    }
    natsOptions.authenticator = credsAuthenticator(creds);
  }
  if (options.tls === true) natsOptions.tls = {};
  else if (options.tls) {
    const tls: Record<string, string> = {};
    if (options.tls.caFile) tls.caFile = options.tls.caFile;
    if (options.tls.certFile) tls.certFile = options.tls.certFile;
    if (options.tls.keyFile) tls.keyFile = options.tls.keyFile;
    natsOptions.tls = tls;
  }
  return natsOptions;
}

/**
 * When a server refuses a connection (bad credentials), Deno's `node:net` may report
 * ECONNRESET on the socket after the NATS client removed its listeners and rejected
 * `connect()`: an uncaught error that would end the process instead of the rejection the
 * caller handles. This catches that one error (ECONNRESET), only around a failed connect
 * and for at most half a second after it.
 */
function catchStrayReset(): { stop(): void; settle(): Promise<void> } {
  let seen: () => void = () => {};
  const reset = new Promise<void>((resolve) => seen = resolve);
  const onError = (event: ErrorEvent) => {
    if ((event.error as { code?: string } | undefined)?.code !== "ECONNRESET") return;
    event.preventDefault();
    seen();
  };
  globalThis.addEventListener("error", onError);
  const stop = () => globalThis.removeEventListener("error", onError);
  return {
    stop,
    async settle() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([reset, new Promise((resolve) => timer = setTimeout(resolve, 500))]);
      clearTimeout(timer);
      stop();
    },
  };
}
