import assert from "node:assert/strict";
import { PermissionError, Pool, TaskError, taskModule } from "../mod.ts";
import { assertPermissionsGrantable, canonicalPermissions } from "../src/permissions/descriptor.ts";
import { permissionFlags } from "../src/permissions/flags.ts";
import { workerOptionsStatus } from "../src/permissions/deno_config.ts";
import { fixture, ISOLATIONS, named } from "./_isolation.ts";

const math = taskModule<typeof import("./fixtures/math.ts")>(fixture("math.ts"));

/** The error a task failed with, for assertions; fails the test if the task succeeded. */
async function failure(call: Promise<unknown>): Promise<TaskError> {
  const outcome = await call.then((value) => ({ value }), (error: unknown) => ({ error }));
  assert.ok("error" in outcome, `expected a denial, got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.error instanceof TaskError, `expected TaskError, got ${outcome.error}`);
  return outcome.error;
}

/** Whether a task's error is Deno's own denial of a permission. */
function assertDenied(error: TaskError, what: RegExp): void {
  const cause = error.cause as Error;
  assert.ok(
    cause.name === "NotCapable" || cause.name === "PermissionDenied",
    `expected NotCapable, got ${cause.name}: ${cause.message}`,
  );
  assert.match(cause.message, what);
}

for (const isolation of ISOLATIONS) {
  Deno.test(
    named("Pool task permissions deny a read and a write outside the granted folder", isolation),
    async () => {
      const granted = await Deno.makeTempDir({ prefix: "seed_granted_" });
      const outside = await Deno.makeTempDir({ prefix: "seed_outside_" });
      try {
        await Deno.writeTextFile(`${granted}/in.txt`, "inside");
        await Deno.writeTextFile(`${outside}/secret.txt`, "secret");
        await using pool = new Pool({
          size: 1,
          isolation,
          permissions: { read: [granted], write: [granted] },
        });
        const read = (path: string) => Deno.readTextFile(path);
        const write = (path: string) => Deno.writeTextFile(path, "written");
        assert.equal(await pool.apply(read, [`${granted}/in.txt`]), "inside");
        await pool.apply(write, [`${granted}/out.txt`]);
        assert.equal(await Deno.readTextFile(`${granted}/out.txt`), "written");
        assertDenied(await failure(pool.apply(read, [`${outside}/secret.txt`])), /read access/);
        assertDenied(await failure(pool.apply(write, [`${outside}/new.txt`])), /write access/);
        await assert.rejects(Deno.stat(`${outside}/new.txt`), Deno.errors.NotFound);
      } finally {
        await Deno.remove(granted, { recursive: true });
        await Deno.remove(outside, { recursive: true });
      }
    },
  );

  Deno.test(
    named("Pool task permissions deny fetch to a host that was not granted", isolation),
    async () => {
      await using server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        () => new Response("hello"),
      );
      const url = `http://127.0.0.1:${server.addr.port}/`;
      const get = async (url: string) => await (await fetch(url)).text();
      {
        await using allowed = new Pool({
          size: 1,
          isolation,
          permissions: { net: [`127.0.0.1:${server.addr.port}`] },
        });
        assert.equal(await allowed.apply(get, [url]), "hello");
      }
      // Another port of the same host is another grant.
      await using other = new Pool({
        size: 1,
        isolation,
        permissions: { net: [`127.0.0.1:${server.addr.port === 1 ? 2 : 1}`] },
      });
      assertDenied(await failure(other.apply(get, [url])), /net access/);
    },
  );

  Deno.test(
    named("Pool task permissions deny Deno.Command, env, FFI and permission requests", isolation),
    async () => {
      Deno.env.set("SEED_POOL_GRANTED", "yes");
      await using pool = new Pool({
        size: 1,
        isolation,
        permissions: { env: ["SEED_POOL_GRANTED"] },
      });
      assert.equal(await pool.apply(() => Deno.env.get("SEED_POOL_GRANTED")), "yes");
      assertDenied(await failure(pool.apply(() => Deno.env.get("HOME"))), /env access/);
      assertDenied(
        await failure(
          pool.apply(() => new Deno.Command(Deno.execPath(), { args: ["-V"] }).output()),
        ),
        /run access/,
      );
      assertDenied(
        await failure(pool.apply(() => {
          Deno.dlopen("libc.so.6", {});
        })),
        /ffi access/,
      );
      // No prompt can widen a worker: a request is denied and the read still fails.
      const requested = await pool.apply(async () => {
        const status = await Deno.permissions.request({ name: "read", path: "/etc/hostname" });
        return status.state;
      });
      assert.notEqual(requested, "granted");
      assertDenied(
        await failure(pool.apply(() => Deno.readTextFile("/etc/hostname"))),
        /read access/,
      );
    },
  );

  Deno.test(named("Pool never runs two permission sets on one worker", isolation), async () => {
    await using pool = new Pool({ size: 2, isolation, permissions: "none" });
    const spawnedWith = new Map<number, string>();
    const ranOn = new Map<number, number>(); // taskId → workerId
    pool.addEventListener(
      "workerspawn",
      (e) => spawnedWith.set(e.detail.workerId, e.detail.permissions),
    );
    pool.addEventListener("taskstart", (e) => ranOn.set(e.detail.taskId, e.detail.workerId));
    const asked = new Map<number, string>(); // taskId → the key of the set it asked for
    let asking = "";
    pool.addEventListener("taskqueued", (e) => asked.set(e.detail.taskId, asking));
    const canRead = () => Deno.permissions.querySync({ name: "read" }).state;
    const calls: Promise<string>[] = [];
    for (let i = 0; i < 8; i++) {
      asking = i % 2 === 0 ? "none" : "read";
      calls.push(pool.apply(canRead, [], i % 2 === 0 ? {} : { permissions: { read: true } }));
    }
    const states = await Promise.all(calls);
    states.forEach((state, i) => assert.equal(state === "granted", i % 2 === 1));
    assert.equal(ranOn.size, 8);
    for (const [taskId, workerId] of ranOn) {
      assert.equal(spawnedWith.get(workerId), asked.get(taskId));
    }
  });
}

// Worker isolation cannot do this: Deno checks a Web Worker's dynamic import of the task
// module against the worker's own read permission (see the README).
Deno.test("Pool loads a task module in a process worker that may not read its file", async () => {
  await using pool = new Pool({ size: 1, isolation: "process", permissions: "none" });
  assert.equal(await pool.apply(math.square, [9]), 81);
  assertDenied(
    await failure(pool.apply((p: string) => Deno.readTextFile(p), [fixture("math.ts").pathname])),
    /read access/,
  );
});

Deno.test("permissionFlags() turns a permission set into --allow-* flags", () => {
  assert.deepEqual(permissionFlags(canonicalPermissions("none")), []);
  assert.deepEqual(
    permissionFlags(canonicalPermissions({ read: ["/b", "/a"], net: true, env: ["HOME"] })),
    ["--allow-read=/a,/b", "--allow-net", "--allow-env=HOME"],
  );
  // This test runs with -A: "inherit" is every kind.
  assert.equal(permissionFlags(undefined).length, 8);
  assert.throws(() => permissionFlags(canonicalPermissions({ read: ["/a,b"] })), PermissionError);
});

Deno.test("assertPermissionsGrantable() accepts what this process has", () => {
  assertPermissionsGrantable(canonicalPermissions({ read: ["/tmp"], net: ["127.0.0.1:80"] }));
  assertPermissionsGrantable("inherit");
});

/** Runs a script in a Deno with only `flags`, and returns what it printed. */
async function runWith(flags: string[], source: string): Promise<string> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { Pool } from ${
        JSON.stringify(new URL("../mod.ts", import.meta.url).href)
      };\n${source}`,
    );
    const { stdout, stderr, code } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
    return out.trim();
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("Pool rejects a permission set larger than the parent's own with PermissionError", async () => {
  const out = await runWith(
    ["--no-config", "--allow-read", `--allow-run=${Deno.execPath()}`],
    `await using pool = new Pool({ size: 1, isolation: "process" });
     for (const permissions of [{ net: true }, { write: ["/tmp"] }, { read: true }]) {
       try {
         console.log(await pool.apply(() => 1, [], { permissions }));
       } catch (error) {
         console.log(error.name);
       }
     }`,
  );
  assert.deepEqual(out.split("\n"), ["PermissionError", "PermissionError", "1"]);
});

Deno.test(
  "Pool throws PermissionError instead of exit code 70 without --unstable-worker-options",
  async () => {
    // -A lets the pool read its command line; --no-config leaves the flag off for sure.
    const out = await runWith(
      ["-A", "--no-config"],
      `try {
         new Pool({ size: 1, permissions: "none" });
         console.log("created");
       } catch (error) {
         console.log(error.name, /--unstable-worker-options/.test(error.message));
       }`,
    );
    assert.equal(out, "PermissionError true");
  },
);

Deno.test("Pool throws one PermissionError naming --allow-read when it may not read its worker script", async () => {
  const out = await runWith(
    ["--no-config", `--allow-run=${Deno.execPath()}`],
    `try {
       new Pool(2);
       console.log("created");
     } catch (error) {
       console.log(error.name, /--allow-read/.test(error.message), error.message.includes("workers/worker.ts"));
     }
     // Process workers need no read access of the parent: that pool still runs.
     await using pool = new Pool({ size: 1, isolation: "process" });
     console.log(await pool.apply((x: number) => x + 1, [1]));`,
  );
  assert.equal(out, "PermissionError true true\n2");
});

Deno.test("workerOptionsStatus() finds the flag in this project's deno.json", () => {
  // `deno test` here runs with the project's config, which sets "unstable": ["worker-options"].
  const status = workerOptionsStatus();
  assert.notEqual(status.state, "missing", status.evidence);
});
