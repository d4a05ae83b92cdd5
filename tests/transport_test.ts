import assert from "node:assert/strict";
import { STUCK_WORKER_WARNING } from "../src/transport/web_worker.ts";
import { fixture } from "./_isolation.ts";

async function runStopped(mode: "runaway" | "returning") {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", decodeURIComponent(fixture("stopped_workers.ts").pathname), mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return { report: JSON.parse(new TextDecoder().decode(output.stdout)), stderr };
}

Deno.test(
  "webWorkerTransports() says once per pool on stderr that a stopped runaway task keeps the program alive",
  async () => {
    const { report, stderr } = await runStopped("runaway");
    assert.deepEqual(report, {
      first: "AbortError",
      second: "AbortError",
      afterSecond: 1,
      still: 2,
      third: "AbortError",
      warnings: 2,
    });
    assert.equal(stderr.split(STUCK_WORKER_WARNING).length - 1, 2);
    assert.match(STUCK_WORKER_WARNING, /isolation: "process"/);
  },
);

Deno.test(
  "webWorkerTransports() stays silent when the stopped workers do stop, and the program exits",
  async () => {
    const { report, stderr } = await runStopped("returning");
    assert.deepEqual(report, { pending: "TimeoutError", busy: "TimeoutError", warnings: 0 });
    assert.ok(!stderr.includes("seed pool:"), stderr);
  },
);
