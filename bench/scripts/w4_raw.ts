/**
 * W4's floor: a whole process that starts 2 raw Workers, sends `identity(1)` to the first,
 * prints the reply and ends.
 *
 * Usage: `deno run -A bench/scripts/w4_raw.ts <graceful|exit>`; `graceful` terminates the
 * workers and lets the process end; `exit` calls `Deno.exit` right after printing.
 *
 * @module
 */

const ending = Deno.args[0] ?? "graceful";
const url = new URL("../raw_worker.ts", import.meta.url);
const workers = [0, 1].map(() => new Worker(url, { type: "module", name: "identity" }));
// Posted before the worker has loaded: Deno queues it, as a pool would not wait either.
const reply = new Promise<unknown>((resolve) => {
  workers[0]!.onmessage = (event: MessageEvent<{ id: number; value: unknown }>) => {
    if (event.data.id === 0) resolve(event.data.value);
  };
});
workers[0]!.postMessage({ id: 0, arg: 1 });
console.log(await reply);
if (ending === "exit") Deno.exit(0);
for (const worker of workers) worker.terminate();
