/**
 * The flags of `pool worker`, checked and turned into the options of `serveWorkerHost`. Every
 * mistake a user can make on the command line is a {@linkcode UsageError} here, before the
 * host connects to anything.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { WorkerHostOptions } from "../cluster.ts";
import type { Isolation, Permissions } from "../mod.ts";
import { UsageError } from "./exit.ts";

/** The flags of `pool worker` as commander parsed them. */
export interface WorkerFlags {
  nats?: string[];
  cluster?: string;
  jobs: number;
  isolation: Isolation;
  modules?: string[];
  allowInline?: boolean;
  name?: string;
  serve?: number;
  token?: string;
  user?: string;
  pass?: string;
  creds?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  ackWait?: number;
}

/** What `pool worker` runs: the host's options, and the port of its own monitor. */
export interface WorkerCommandOptions {
  /** For `serveWorkerHost`. */
  readonly host: WorkerHostOptions;
  /** The servers, as given, for messages. */
  readonly servers: readonly string[];
  /** `--serve`: the port of this host's monitor (0 picks a free one). */
  readonly serve: number | undefined;
}

/** The schemes the NATS client for Deno and Node speaks. */
const NATS_SCHEMES = new Set(["nats:", "tls:"]);

/** A cluster's name: what its subjects and streams are made of. */
const CLUSTER_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * The servers of `--nats`, each flag a URL or a comma-separated list of them.
 *
 * @throws {UsageError} when none is given, or one is empty or not a NATS URL.
 *
 * @example
 * ```ts
 * import { parseServers } from "./worker_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseServers(["nats://a:4222,nats://b:4222", "c:4222"]), [
 *   "nats://a:4222",
 *   "nats://b:4222",
 *   "c:4222",
 * ]);
 * assert.throws(() => parseServers(["http://a:8222"]), /nats:\/\//);
 * ```
 */
export function parseServers(flags: readonly string[] | undefined): string[] {
  if (flags === undefined || flags.length === 0) {
    throw new UsageError(
      "Cannot join a cluster as --nats is missing: give the NATS server's URL, as in " +
        "--nats nats://127.0.0.1:4222",
    );
  }
  const servers = flags.flatMap((flag) => flag.split(",")).map((server) => server.trim());
  for (const server of servers) {
    if (server === "") {
      throw new UsageError(
        `Cannot use --nats '${flags.join(",")}' as it has an empty entry: give URLs separated ` +
          "by commas, as in --nats nats://a:4222,nats://b:4222",
      );
    }
    const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(server)?.[1]?.toLowerCase();
    if (scheme !== undefined && !NATS_SCHEMES.has(scheme)) {
      throw new UsageError(
        `Cannot use --nats ${server} as it is not a NATS URL: write nats://HOST:PORT ` +
          "(or tls://HOST:PORT); the client port is 4222 by default",
      );
    }
  }
  return servers;
}

/**
 * The URL prefix of one `--modules` value: a URL stays as it is; a plain path (relative to
 * `cwd`) becomes a `file:` URL, ending in `/` when it is a folder.
 *
 * @throws {UsageError} for a path that does not exist here.
 *
 * @example
 * ```ts
 * import { modulePrefix } from "./worker_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(modulePrefix("https://example.com/tasks/", "/"), "https://example.com/tasks/");
 * const tmp = Deno.makeTempDirSync();
 * assert.match(modulePrefix(tmp, "/"), /^file:\/\/.*\/$/);
 * Deno.removeSync(tmp);
 * assert.throws(() => modulePrefix("./no/such/folder", "/tmp"), /Cannot use --modules/);
 * ```
 */
export function modulePrefix(value: string, cwd: string): string {
  const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value);
  if (isUrl) return value;
  const [path, stat] = existing("--modules", value, cwd, "folder here");
  const url = pathToFileURL(path).href;
  return stat.isDirectory && !url.endsWith("/") ? `${url}/` : url;
}

/**
 * Checks the flags of `pool worker` and makes the host's options from them.
 *
 * @param flags What commander parsed.
 * @param permissions The `--allow-*` flags: the host's ceiling.
 * @param cwd The folder relative paths are resolved against.
 * @throws {UsageError} naming the flag to fix.
 *
 * @example
 * ```ts
 * import { workerCommandOptions } from "./worker_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { host } = workerCommandOptions(
 *   { nats: ["nats://127.0.0.1:4222"], cluster: "jobs", jobs: 2, isolation: "worker" },
 *   "none",
 *   "/",
 * );
 * assert.equal(host.name, "jobs");
 * assert.equal(host.size, 2);
 * assert.throws(
 *   () => workerCommandOptions({ nats: ["x:1"], jobs: 1, isolation: "worker" }, "none", "/"),
 *   /--cluster is missing/,
 * );
 * ```
 */
export function workerCommandOptions(
  flags: WorkerFlags,
  permissions: Permissions,
  cwd: string,
): WorkerCommandOptions {
  const servers = parseServers(flags.nats);
  const name = clusterName(flags.cluster);
  if (flags.name !== undefined && flags.name.trim() === "") {
    throw new UsageError(
      "Cannot use --name as it is empty: give this host a name, or leave it out",
    );
  }
  const host: WorkerHostOptions = {
    servers,
    name,
    size: flags.jobs,
    isolation: flags.isolation,
    permissions,
    modules: (flags.modules ?? []).map((value) => modulePrefix(value, cwd)),
    allowInline: flags.allowInline === true,
    ...(flags.name !== undefined && { hostName: flags.name }),
    ...(flags.ackWait !== undefined && { ackWaitMs: flags.ackWait }),
    ...authentication(flags, cwd),
  };
  return { host, servers, serve: flags.serve };
}

function clusterName(cluster: string | undefined): string {
  if (cluster === undefined) {
    throw new UsageError(
      "Cannot join a cluster as --cluster is missing: give its name, the one its clients pass " +
        "to connectCluster, as in --cluster jobs",
    );
  }
  if (!CLUSTER_NAME.test(cluster)) {
    throw new UsageError(
      `Cannot join cluster '${cluster}' as a cluster's name has only letters, digits, '-' ` +
        "and '_'",
    );
  }
  return cluster;
}

type Authentication = Pick<WorkerHostOptions, "token" | "user" | "pass" | "credsFile" | "tls">;

function authentication(flags: WorkerFlags, cwd: string): Authentication {
  if ((flags.user === undefined) !== (flags.pass === undefined)) {
    throw new UsageError(
      `Cannot authenticate with ${flags.user === undefined ? "--pass" : "--user"} alone: ` +
        "give both --user and --pass",
    );
  }
  if (flags.token !== undefined && flags.user !== undefined) {
    throw new UsageError(
      "Cannot authenticate with both --token and --user/--pass: a NATS server takes one of them",
    );
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError(
      `Cannot use ${flags.tlsCert === undefined ? "--tls-key" : "--tls-cert"} alone: a client ` +
        "certificate needs both --tls-cert and --tls-key",
    );
  }
  const auth: Authentication = {};
  if (flags.token !== undefined) auth.token = flags.token;
  if (flags.user !== undefined) auth.user = flags.user;
  if (flags.pass !== undefined) auth.pass = flags.pass;
  if (flags.creds !== undefined) auth.credsFile = readableFile("--creds", flags.creds, cwd);
  const files: { caFile?: string; certFile?: string; keyFile?: string } = {};
  if (flags.tlsCa !== undefined) files.caFile = readableFile("--tls-ca", flags.tlsCa, cwd);
  if (flags.tlsCert !== undefined) files.certFile = readableFile("--tls-cert", flags.tlsCert, cwd);
  if (flags.tlsKey !== undefined) files.keyFile = readableFile("--tls-key", flags.tlsKey, cwd);
  if (Object.keys(files).length > 0) auth.tls = files;
  else if (flags.tls === true) auth.tls = true;
  return auth;
}

/** The absolute path a flag names and what is there, or a usage error naming `what`. */
function existing(flag: string, value: string, cwd: string, what: string): [string, Deno.FileInfo] {
  const path = isAbsolute(value) ? value : resolve(cwd, value);
  try {
    return [path, Deno.statSync(path)];
  } catch {
    throw new UsageError(
      `Cannot use ${flag} ${value} as there is no such ${what} (looked at ${path})`,
    );
  }
}

/** The absolute path of a file a flag names, checked to be one. */
function readableFile(flag: string, value: string, cwd: string): string {
  const [path, stat] = existing(flag, value, cwd, "file");
  if (!stat.isFile) throw new UsageError(`Cannot use ${flag} ${value} as it is not a file`);
  return path;
}
