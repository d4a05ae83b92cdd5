/**
 * The raw-Worker floor: the least a hand-written Web Worker loop can do, with no pool logic.
 * The worker's `name` says which task it runs (`"square"`), and a trailing `[]`
 * (`"square[]"`) that each message carries an array to map over. A message is
 * `{ id, arg }`; the reply is `{ id, value }`. `{ id: -1 }` says the worker has loaded.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import * as tasks from "./tasks.ts";

const each = self.name.endsWith("[]");
const taskName = each ? self.name.slice(0, -2) : self.name;
const task = (tasks as Record<string, unknown>)[taskName];
if (typeof task !== "function") throw new Error(`bench/tasks.ts has no task '${taskName}'`);
const fn = task as (arg: unknown) => unknown;

self.onmessage = each
  ? (event: MessageEvent<{ id: number; arg: unknown[] }>) => {
    const { id, arg } = event.data;
    const value = new Array(arg.length);
    for (let i = 0; i < arg.length; i++) value[i] = fn(arg[i]);
    self.postMessage({ id, value });
  }
  : (event: MessageEvent<{ id: number; arg: unknown }>) => {
    const { id, arg } = event.data;
    const value = fn(arg);
    // An async task (W7's `hold` with a timer) replies when it settles.
    if (value instanceof Promise) value.then((settled) => self.postMessage({ id, value: settled }));
    else self.postMessage({ id, value });
  };

self.postMessage({ id: -1 });
