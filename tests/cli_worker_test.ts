/**
 * End-to-end tests of `pool worker`: the real CLI as a subprocess (`deno run -A cli/main.ts
 * worker …`), as users start a host. Its help and usage errors need nothing; a server that
 * is not there needs nothing either. Joining and leaving need a real `nats-server` (Debian
 * package `nats-server`) and the cluster's implementation: without either, those tests are
 * reported as ignored, with the reason.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connectCluster } from "../cluster.ts";
import { type NatsServer, natsTest, startNats } from "./_nats.ts";
import { Pool } from "../mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `pool worker` with `args` to its end. */
async function runWorker(args: string[]): Promise<CliRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "worker", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** A loopback port nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** No stack trace, no uncaught error: what a user sees is the CLI's own message. */
function assertNoCrash(stderr: string): void {
  assert.doesNotMatch(stderr, /Uncaught|^\s+at /m, `a crash instead of a message:\n${stderr}`);
}

Deno.test("pool worker --help lists every flag, the permission ceiling and an example", async () => {
  const run = await runWorker(["--help"]);
  assert.equal(run.code, 0, run.stderr);
  const flags = [
    "--nats",
    "--cluster",
    "-j, --jobs",
    "--isolation",
    "--modules",
    "--allow-inline",
    "--name",
    "--serve",
    "--token",
    "--user",
    "--pass",
    "--creds",
    "--tls",
    "--tls-ca",
    "--tls-cert",
    "--tls-key",
    "--ack-wait",
  ];
  for (const flag of flags) assert.ok(run.stdout.includes(`  ${flag} `), `help lacks ${flag}`);
  for (const kind of ["read", "write", "net", "env", "run", "ffi", "sys", "import"]) {
    assert.match(run.stdout, new RegExp(`--allow-${kind}\\[=`));
  }
  assert.match(run.stdout, /--allow-all/);
  assert.match(run.stdout, /Permission ceiling/);
  assert.match(run.stdout, /Examples:\n(?:.*\n)*\s+pool worker --nats nats:\/\/\S+ --cluster /);
  assert.match(run.stdout, /pool worker: host <name> joined cluster <cluster> with <N> workers/);

  const root = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "--help"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.match(new TextDecoder().decode(root.stdout), /\n\s+worker \[options\]/);
});

Deno.test("pool worker exits with code 2 and says what to fix for a wrong command line", async () => {
  const nats = ["--nats", "nats://127.0.0.1:4222"];
  const cluster = ["--cluster", "jobs"];
  const cases: [string[], RegExp][] = [
    [[...cluster], /^pool: Cannot join a cluster as --nats is missing: .*--nats nats:\/\//m],
    [[...nats], /^pool: Cannot join a cluster as --cluster is missing/m],
    [[...nats, "--cluster", "a.b"], /Cannot join cluster 'a\.b' as a cluster's name has only/],
    [["--nats", "http://127.0.0.1:8222", ...cluster], /Cannot use --nats http:\/\/\S+ as it is/],
    [["--nats", "nats://a:4222,", ...cluster], /Cannot use --nats .* as it has an empty entry/],
    [[...nats, ...cluster, "-j", "0"], /--jobs must be a positive integer/],
    [[...nats, ...cluster, "-j", "many"], /--jobs must be a positive integer/],
    [[...nats, ...cluster, "--isolation", "thread"], /--isolation.*Allowed choices/],
    [[...nats, ...cluster, "--ack-wait", "soon"], /--ack-wait must be an integer of at least/],
    [[...nats, ...cluster, "--ack-wait", "10"], /--ack-wait must be an integer of at least/],
    [[...nats, ...cluster, "--modules", "./no/such/folder"], /Cannot use --modules \.\/no\//],
    [[...nats, ...cluster, "--user", "me"], /Cannot authenticate with --user alone/],
    [[...nats, ...cluster, "--token", "t", "--user", "u", "--pass", "p"], /both --token and/],
    [[...nats, ...cluster, "--creds", "/no/such.creds"], /Cannot use --creds .* no such file/],
    [[...nats, ...cluster, "--tls-cert", "/no/such.pem"], /--tls-cert alone/],
    [[...nats, ...cluster, "--allow-all=yes"], /--allow-all takes no value/],
    [[...nats, ...cluster, "--no-such-flag"], /unknown option '--no-such-flag'/],
  ];
  for (const [args, message] of cases) {
    const run = await runWorker(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
    assert.doesNotMatch(run.stderr, /joined cluster/);
    assertNoCrash(run.stderr);
  }
});

Deno.test("pool worker with no server at --nats fails with exit code 1 and a message naming it", async () => {
  const url = `nats://127.0.0.1:${closedPort()}`;
  const run = await runWorker(["--nats", url, "--cluster", "jobs", "-j", "1", "--allow-inline"]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^pool worker: Cannot /m);
  assert.ok(run.stderr.includes(url), `the message names the server:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /joined cluster/);
  assertNoCrash(run.stderr);
});

Deno.test("pool worker warns when the host may run no task at all", async () => {
  const url = `nats://127.0.0.1:${closedPort()}`;
  const run = await runWorker(["--nats", url, "--cluster", "jobs", "-j", "1"]);
  assert.match(run.stderr, /warning: this host may run no task: give --modules/);
});

// ---------------------------------------------------------------------------------------
// With a real nats-server: joining, working, leaving.

/** A `pool worker` command line for cluster `cluster` on `server`, as host `name`. */
function joinArgs(server: NatsServer, cluster: string, name: string, ...more: string[]): string[] {
  return ["--nats", server.url, "--cluster", cluster, "--name", name, "--allow-inline", ...more];
}

/** A `pool worker` left running, its stderr read line by line. */
class RunningWorker implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  /** Every line of stderr read so far. */
  readonly stderr: string[] = [];

  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "worker", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#lines = this.#child.stderr
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(lineSplitter())[Symbol.asyncIterator]();
  }

  /** Reads stderr until a line matches, and returns it. */
  async waitForLine(pattern: RegExp): Promise<string> {
    for (;;) {
      const next = await this.#lines.next();
      if (next.done) {
        throw new Error(`stderr ended before ${pattern}:\n${this.stderr.join("\n")}`);
      }
      this.stderr.push(next.value);
      if (pattern.test(next.value)) return next.value;
    }
  }

  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Its exit code, once the rest of stderr is read. */
  async exit(): Promise<number> {
    for (let next = await this.#lines.next(); !next.done; next = await this.#lines.next()) {
      this.stderr.push(next.value);
    }
    return (await this.#child.status).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.exit();
  }
}

function lineSplitter(): TransformStream<string, string> {
  let buffered = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop()!;
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (buffered !== "") controller.enqueue(buffered);
    },
  });
}

natsTest(
  "pool worker joins, runs a client's tasks, and leaves on SIGTERM with exit code 0",
  async () => {
    await using server = await startNats();
    await using worker = new RunningWorker(joinArgs(server, "cli-join", "host-a", "-j", "2"));
    const joined = await worker.waitForLine(/joined cluster/);
    assert.equal(joined, "pool worker: host host-a joined cluster cli-join with 2 workers");

    {
      await using cluster = await connectCluster({ servers: server.url, name: "cli-join" });
      await using pool = new Pool({ cluster });
      assert.deepEqual(await pool.map((x: number) => x * x, [1, 2, 3]), [1, 4, 9]);
    }

    worker.kill("SIGTERM");
    assert.equal(await worker.exit(), 0, worker.stderr.join("\n"));
    assert.ok(worker.stderr.includes("pool worker: host host-a left cluster cli-join"));
  },
);

natsTest(
  "pool worker --serve shows its busy worker; a second Ctrl+C while it finishes quits (130)",
  async () => {
    await using server = await startNats();
    const args = joinArgs(server, "cli-quit", "host-b", "-j", "1", "--serve", "0");
    await using worker = new RunningWorker(args);
    await worker.waitForLine(/joined cluster/);
    const monitorUrl = /monitor is at (\S+)/.exec(await worker.waitForLine(/monitor is at/))![1]!;
    await using cluster = await connectCluster({ servers: server.url, name: "cli-quit" });
    const pool = new Pool({ cluster });
    const forever = pool.apply(() => new Promise(() => {}), []);
    forever.catch(() => {});
    // The host's own monitor says when the task runs there.
    for (;;) {
      const stats = await (await fetch(new URL("/stats", monitorUrl))).json();
      if (stats.running >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    worker.kill("SIGINT");
    await worker.waitForLine(/leaving cluster cli-quit/);
    worker.kill("SIGINT");
    assert.equal(await worker.exit(), 130, worker.stderr.join("\n"));
    assert.ok(!worker.stderr.some((line) => /left cluster/.test(line)), "it did not wait");
    await pool.terminate();
  },
);
