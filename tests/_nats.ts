/**
 * A real `nats-server -js` for tests: on a free loopback port with its own temp store dir,
 * stopped, killed or restarted (same port, same store) by the test, and `natsTest` to declare
 * a test that needs one.
 *
 * ```ts ignore
 * natsTest("the client survives a server restart", async () => {
 *   await using server = await startNats();
 *   // connect to server.url, then: await server.restart();
 * });
 * ```
 */

const INSTALL_HINT = "apt-get install -y nats-server";
/** JetStream on a shared 2-core machine can take a few seconds to come up. */
const READY_TIMEOUT_MS = 20_000;
/** How long a start keeps retrying while the port is still held (e.g. by the previous run). */
const PORT_RETRY_MS = 10_000;
/** A SIGTERM that has not ended the server by then becomes a SIGKILL, so no test hangs. */
const STOP_TIMEOUT_MS = 10_000;
const TAIL_LINES = 30;

function findNatsServer(): string | null {
  let path: string | undefined;
  try {
    path = Deno.env.get("PATH");
  } catch {
    path = undefined; // no --allow-env: only the Debian location is looked at
  }
  const dirs = [...(path ?? "").split(":").filter((dir) => dir !== ""), "/usr/sbin"];
  for (const dir of dirs) {
    const candidate = `${dir}/nats-server`;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not there (or not readable): try the next one
    }
  }
  return null;
}

/** The nats-server binary found (PATH or /usr/sbin), or null. */
export const NATS_SERVER_PATH: string | null = findNatsServer();

/** A running (or stopped) nats-server started by {@linkcode startNats}. */
export interface NatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:PORT` (without the token). */
  readonly url: string;
  readonly port: number;
  /** The temp dir holding JetStream's file storage; removed by `stop()` and dispose. */
  readonly storeDir: string;
  /** The token clients must present (`connect({ token })`), if the server was given one. */
  readonly token: string | undefined;
  /** SIGTERM, waits for exit, removes the store dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit; keeps the store dir, so `restart()` can recover from a crash. */
  kill(): Promise<void>;
  /** Stops the server (if running) and starts it again on the same port and store dir. */
  restart(): Promise<void>;
}

/** One nats-server process, from spawn to exit. */
interface Run {
  readonly child: Deno.ChildProcess;
  readonly exited: Promise<Deno.CommandStatus>;
  /** Resolves when the server logs that it is ready; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves once its output is read to the end, so no stream is left open. */
  readonly drained: Promise<void>;
  readonly tail: string[];
}

/** Servers not yet stopped, killed when this process unloads so none outlives a failed test. */
const live = new Set<Deno.ChildProcess>();
globalThis.addEventListener("unload", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

function spawnRun(args: string[]): Run {
  const child = new Deno.Command(NATS_SERVER_PATH!, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped", // nats-server logs to stderr
  }).spawn();
  live.add(child);
  const exited = child.status.finally(() => live.delete(child));
  const tail: string[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => markReady = resolve);
  // Reading every line to the end keeps the pipe from filling up however long the server runs.
  const drained = (async () => {
    let pending = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        if (line.includes("Server is ready")) markReady();
      }
    }
    if (pending !== "") tail.push(pending);
  })();
  const readyOrExit = Promise.race([
    ready,
    exited.then(async (status) => {
      await drained;
      throw new ServerExitedError(status.code, tail);
    }),
  ]);
  readyOrExit.catch(() => {}); // observed by start(); never an unhandled rejection
  return { child, exited, ready: readyOrExit, drained, tail };
}

/** The port was still held when the retries ran out. */
class PortInUseError extends Error {}

class ServerExitedError extends Error {
  constructor(readonly code: number, readonly tail: readonly string[]) {
    super(`nats-server exited with code ${code}`);
  }
  get portInUse(): boolean {
    return this.tail.some((line) => /address already in use/i.test(line));
  }
}

function lastOutput(tail: readonly string[]): string {
  return tail.length === 0 ? "(no output)" : tail.join("\n");
}

async function stopRun(run: Run, signal: Deno.Signal): Promise<void> {
  try {
    run.child.kill(signal);
  } catch {
    // it has exited already
  }
  const timer = setTimeout(() => {
    try {
      run.child.kill("SIGKILL");
    } catch {
      // it has exited meanwhile
    }
  }, STOP_TIMEOUT_MS);
  try {
    await run.exited;
    await run.drained;
  } finally {
    clearTimeout(timer);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

class Server implements NatsServer {
  readonly url: string;
  #run: Run | undefined;
  #removed = false;

  constructor(
    readonly port: number,
    readonly storeDir: string,
    readonly token: string | undefined,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
  }

  get #args(): string[] {
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir];
    if (this.token !== undefined) args.push("--auth", this.token);
    return args;
  }

  /** Starts the process and resolves when it is ready, retrying while the port is held. */
  async start(portRetryMs = PORT_RETRY_MS): Promise<void> {
    const retryUntil = Date.now() + portRetryMs;
    for (;;) {
      const run = spawnRun(this.#args);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), READY_TIMEOUT_MS);
      });
      try {
        await Promise.race([run.ready, timeout]);
        this.#run = run;
        return;
      } catch (error) {
        if (error instanceof ServerExitedError) {
          if (error.portInUse && Date.now() < retryUntil) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            continue;
          }
          const ErrorClass = error.portInUse ? PortInUseError : Error;
          const held = error.portInUse && portRetryMs > 0
            ? ` (the port was still in use after ${portRetryMs} ms of retries)`
            : "";
          throw new ErrorClass(
            `Cannot start nats-server on port ${this.port} as it exited with code ${error.code} ` +
              `before it was ready${held}: last output:\n${lastOutput(error.tail)}`,
          );
        }
        await stopRun(run, "SIGKILL");
        throw new Error(
          `Cannot start nats-server on port ${this.port} as it was not ready after ` +
            `${READY_TIMEOUT_MS} ms: last output:\n${lastOutput(run.tail)}`,
        );
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async #end(signal: Deno.Signal): Promise<void> {
    const run = this.#run;
    this.#run = undefined;
    if (run) await stopRun(run, signal);
  }

  async stop(): Promise<void> {
    await this.#end("SIGTERM");
    if (!this.#removed) {
      this.#removed = true;
      await Deno.remove(this.storeDir, { recursive: true }).catch(() => {});
    }
  }

  kill(): Promise<void> {
    return this.#end("SIGKILL");
  }

  async restart(): Promise<void> {
    if (this.#removed) {
      throw new Error(
        `Cannot restart nats-server on port ${this.port} as it was stopped and its store dir ` +
          `removed: use kill() then restart() to bring it back with its data`,
      );
    }
    await this.#end("SIGTERM");
    await this.start();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts `nats-server -js` on a free loopback port with a fresh temp store dir, and resolves
 * once it is ready. Dispose it (`await using`) or call `stop()` to end it and remove the dir.
 *
 * @param options.token When given, the server requires it (`--auth`) from every client.
 * @throws Error when nats-server is not installed, exits early, or is not ready in time (the
 * message carries the end of its log).
 */
export async function startNats(options: { token?: string } = {}): Promise<NatsServer> {
  if (NATS_SERVER_PATH === null) {
    throw new Error(
      `Cannot start nats-server as it is not installed (looked on PATH and in /usr/sbin): ` +
        `install it with \`${INSTALL_HINT}\``,
    );
  }
  const storeDir = await Deno.makeTempDir({ prefix: "seed-pool-nats-" });
  for (let attempt = 1;; attempt++) {
    const server = new Server(freePort(), storeDir, options.token);
    try {
      // Another process may take the free port before nats-server binds it: pick a new one.
      await server.start(0);
      return server;
    } catch (error) {
      if (error instanceof PortInUseError && attempt < 5) continue;
      await server.stop();
      throw error;
    }
  }
}

let toldMissing = false;

/**
 * `Deno.test` for a test that needs nats-server. When it is missing, the test is reported
 * ignored (with a one-time message naming the install command), except in CI (env `CI` set),
 * where it runs and fails saying nats-server is missing: CI must not pass by skipping.
 *
 * @param options Any other `Deno.test` options (sanitizers, `ignore`, `only`, permissions).
 */
export function natsTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  if (NATS_SERVER_PATH !== null) {
    Deno.test({ ...options, name, fn });
    return;
  }
  if (Deno.env.get("CI")) {
    Deno.test({
      ...options,
      name,
      fn() {
        throw new Error(
          `Cannot run '${name}' as nats-server is not installed and CI is set: ` +
            `install it with \`${INSTALL_HINT}\``,
        );
      },
    });
    return;
  }
  if (!toldMissing) {
    toldMissing = true;
    console.warn(
      `nats-server not found (PATH, /usr/sbin): the tests that need it are ignored. ` +
        `Install it with \`${INSTALL_HINT}\``,
    );
  }
  Deno.test({ ...options, name, fn, ignore: true });
}
