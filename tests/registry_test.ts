/**
 * The library as users get it from a registry: its modules load by URL into a Deno cache
 * that starts empty. The checkout is served on loopback, and each program (a subprocess with
 * its own empty `DENO_DIR`) imports `mod.ts` by http URL, with no more permissions than a
 * user's program would have: import from the library's host, read of its own folder, and
 * run of Deno (for process workers). npm is not needed: the library has no dependencies.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** A module the server offers but no worker is granted: none may download it. */
const NOT_GRANTED_PATH = "/not_granted.ts";

interface Served {
  readonly origin: string;
  readonly host: string;
  /** Every path asked for, in order. */
  readonly requested: string[];
  close(): Promise<void>;
}

/** Serves the checkout's files on 127.0.0.1, as a registry would serve the package. */
function serveCheckout(): Served {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requested.push(path);
    if (path === NOT_GRANTED_PATH) {
      return new Response("export const loaded = true;\n", {
        headers: { "content-type": "application/typescript" },
      });
    }
    if (path.split("/").includes("..")) return new Response("no", { status: 403 });
    try {
      const body = await Deno.readFile(`${ROOT}${path}`);
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requested,
    close: () => server.shutdown(),
  };
}

/**
 * The program: runs the pools named on its command line, in that order, and prints one
 * JSON line per case: `{ case, value }` or `{ case, error }`.
 */
function program(origin: string, dataDir: string): string {
  return `
import { Pool, taskModule } from "${origin}/mod.ts";

const dataFile = ${JSON.stringify(`${dataDir}/data.txt`)};
const math = taskModule<{ square(x: number): number }>("${origin}/tests/fixtures/math.ts");
const double = (x: number) => x * 2;
const tryImport = async (url: string) => {
  try {
    await import(url);
    return "loaded";
  } catch (error) {
    return \`\${(error as Error).name}: \${(error as Error).message}\`;
  }
};

const cases: Record<string, () => Promise<unknown>> = {
  "worker": () => run({}, (pool) => pool.apply(double, [21])),
  "worker none": () => run({ permissions: "none" }, (pool) => pool.apply(double, [21])),
  "worker read": () =>
    run({ permissions: { read: [${JSON.stringify(dataDir)}] } }, (pool) =>
      pool.apply((path: string) => Deno.readTextFileSync(path), [dataFile])),
  "process": () => run({ isolation: "process" }, (pool) => pool.apply(double, [21])),
  "process none": () =>
    run({ isolation: "process", permissions: "none" }, (pool) => pool.apply(double, [21])),
  "process read": () =>
    run({ isolation: "process", permissions: { read: [${JSON.stringify(dataDir)}] } }, (pool) =>
      pool.apply((path: string) => Deno.readTextFileSync(path), [dataFile])),
  "task module worker none": () =>
    run({ permissions: "none" }, (pool) => pool.apply(math.square, [5])),
  "task module process none": () =>
    run({ isolation: "process", permissions: "none" }, (pool) => pool.apply(math.square, [5])),
  "task module process": () => run({ isolation: "process" }, (pool) => pool.apply(math.square, [5])),
  "not granted worker none": () =>
    run({ permissions: "none" }, (pool) => pool.apply(tryImport, ["${origin}${NOT_GRANTED_PATH}"])),
  "not granted process none": () =>
    run({ isolation: "process", permissions: "none" }, (pool) =>
      pool.apply(tryImport, ["${origin}${NOT_GRANTED_PATH}"])),
};

async function run(
  options: ConstructorParameters<typeof Pool>[0] & object,
  task: (pool: Pool) => Promise<unknown>,
): Promise<unknown> {
  await using pool = new Pool({ size: 1, ...options });
  return await task(pool);
}

for (const name of Deno.args) {
  try {
    console.log(JSON.stringify({ case: name, value: await cases[name]!() }));
  } catch (error) {
    console.log(JSON.stringify({ case: name, error: String(error) }));
  }
}
`;
}

interface CaseResult {
  case: string;
  value?: unknown;
  error?: string;
}

/** Runs the program with a fresh, empty Deno cache; returns its result lines. */
async function runProgram(served: Served, cases: string[]): Promise<CaseResult[]> {
  const folder = await Deno.makeTempDir({ prefix: "seed_pool_registry_" });
  try {
    const dataDir = `${folder}/data`;
    await Deno.mkdir(dataDir);
    await Deno.writeTextFile(`${dataDir}/data.txt`, "granted");
    await Deno.writeTextFile(`${folder}/program.ts`, program(served.origin, dataDir));
    const denoDir = `${folder}/deno_dir`;
    await Deno.mkdir(denoDir);
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-lock",
        "--unstable-worker-options",
        `--allow-import=${served.host}`,
        `--allow-read=${folder}`,
        `--allow-run=${Deno.execPath()}`,
        `${folder}/program.ts`,
        ...cases,
      ],
      cwd: folder,
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const results = stdout.split("\n").filter((line) => line !== "").map((line) =>
      JSON.parse(line) as CaseResult
    );
    assert.deepEqual(results.map((result) => result.case), cases, stderr);
    return results;
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
}

Deno.test("Pool from a registry URL: a process pool with no permissions may be the first pool", async () => {
  const served = serveCheckout();
  try {
    const [first] = await runProgram(served, ["process none"]);
    assert.deepEqual(first, { case: "process none", value: 42 });
  } finally {
    await served.close();
  }
});

Deno.test("Pool from a registry URL: every isolation and permission set runs, from an empty cache", async () => {
  const served = serveCheckout();
  try {
    const results = await runProgram(served, [
      "process",
      "worker",
      "worker none",
      "worker read",
      "process read",
      "process none",
    ]);
    assert.deepEqual(results, [
      { case: "process", value: 42 },
      { case: "worker", value: 42 },
      { case: "worker none", value: 42 },
      { case: "worker read", value: "granted" },
      { case: "process read", value: "granted" },
      { case: "process none", value: 42 },
    ]);
  } finally {
    await served.close();
  }
});

Deno.test("Pool from a registry URL: a task module served by URL runs in every isolation", async () => {
  const served = serveCheckout();
  try {
    const results = await runProgram(served, [
      "task module process none",
      "task module worker none",
      "task module process",
    ]);
    assert.deepEqual(results, [
      { case: "task module process none", value: 25 },
      { case: "task module worker none", value: 25 },
      { case: "task module process", value: 25 },
    ]);
  } finally {
    await served.close();
  }
});

Deno.test("Pool from a registry URL: a worker without import permission downloads nothing it was not granted", async () => {
  const served = serveCheckout();
  try {
    const results = await runProgram(served, [
      "not granted process none",
      "not granted worker none",
    ]);
    for (const result of results) {
      assert.equal(typeof result.value, "string", JSON.stringify(result));
      assert.notEqual(result.value, "loaded", `${result.case}: the module was imported`);
    }
    assert.match(String(results[0]!.value), /not found in cache|--cached-only/);
    assert.match(String(results[1]!.value), /import access/);
    assert.ok(
      !served.requested.includes(NOT_GRANTED_PATH),
      `a worker downloaded ${NOT_GRANTED_PATH}: ${served.requested.join(" ")}`,
    );
    // The worker's own code did come from the server (so this is a real registry setup).
    assert.ok(served.requested.includes("/workers/process.ts"), served.requested.join(" "));
  } finally {
    await served.close();
  }
});

Deno.test("deno publish ships the library only, with its LICENSE and no warning", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, text);
  assert.doesNotMatch(text, /warning/i);
  const files = [...text.matchAll(/^\s+(file:\/\/\S+)/gm)].map((match) =>
    fileURLToPath(match[1]!).slice(ROOT.length)
  );
  for (const shipped of ["mod.ts", "monitor.ts", "LICENSE", "README.md", "deno.json"]) {
    assert.ok(files.includes(shipped), `${shipped} is not published: ${files.join(" ")}`);
  }
  for (
    const entry of ["workers/process.ts", "workers/worker.ts", "src/core/pool.ts", "cli/main.ts"]
  ) {
    assert.ok(files.includes(entry), `${entry} is not published`);
  }
  const unwanted = files.filter((file) => /^(tests|bench|examples)\//.test(file));
  assert.deepEqual(unwanted, [], "tests, benchmarks and examples are not published");
  assert.match(await Deno.readTextFile(`${ROOT}LICENSE`), /Copyright \(c\) 2026 seed pool authors/);
});
