/**
 * Worker hosts as users start them, `deno task pool worker …`, as subprocesses of a test:
 * started, waited for until they joined, SIGTERMed or SIGKILLed.
 */

import type { NatsServer } from "./_nats.ts";

const CLI = new URL("../cli/main.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

/** A host subprocess. */
export interface HostProcess extends AsyncDisposable {
  readonly name: string;
  readonly child: Deno.ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (graceful), then its exit code. */
  stop(): Promise<number>;
  /** SIGKILL, then its exit code. */
  kill(): Promise<number>;
  readonly exited: Promise<number>;
}

/** Starts `pool worker` on `server` for `cluster`; resolves once it joined. */
export async function startHost(
  server: NatsServer,
  cluster: string,
  name: string,
  args: string[] = [],
): Promise<HostProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      CLI,
      "worker",
      "--nats",
      server.url,
      "--cluster",
      cluster,
      "--name",
      name,
      ...(server.token ? ["--token", server.token] : []),
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const joined = Promise.withResolvers<void>();
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes(`pool worker: host ${name} joined cluster ${cluster}`)) joined.resolve();
    }
  })();
  child.stdout.pipeTo(new WritableStream()).catch(() => {});
  const exited = child.status.then((status) => status.code);
  exited.then((code) => joined.reject(new Error(`host ${name} exited (${code}): ${text}`)));
  const timer = setTimeout(
    () => joined.reject(new Error(`host ${name} did not join in 20 s: ${text}`)),
    20_000,
  );
  try {
    await joined.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const signal = async (which: Deno.Signal) => {
    try {
      child.kill(which);
    } catch { /* gone already */ }
    return await exited;
  };
  return {
    name,
    child,
    stderr: () => text,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
    exited,
    [Symbol.asyncDispose]: async () => {
      await signal("SIGKILL");
    },
  };
}
