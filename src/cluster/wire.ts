/**
 * What travels between a cluster's clients and hosts, and under which names. Every payload
 * is V8's structured serialization (`node:v8`), so arguments and results keep the fidelity
 * of `postMessage`: BigInt, Map, Set, Date, typed arrays, `undefined`.
 *
 * - `seedpool.<name>.tasks.<client>`: task batches, in the work-queue stream
 *   `SEEDPOOL_<NAME>_TASKS`, pulled by every host through one durable consumer (`hosts`).
 * - `seedpool.<name>.results.<client>`: outcomes, in the stream `SEEDPOOL_<NAME>_RESULTS`,
 *   read by their client through an ordered consumer (so a server restart loses none).
 * - `seedpool.<name>.cancel`: tasks a client gave up (core NATS, every host listens).
 * - `seedpool.<name>.hosts`: hosts' heartbeats (core NATS, every client listens).
 * - `seedpool.<name>.clients.<client>`: a client's liveness responder (hosts ask it).
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { CallMode, FunctionDefinition } from "../wire/protocol.ts";
import type { ThrownData } from "../wire/thrown.ts";
import type { Isolation } from "../core/events.ts";

/** The streams and subjects of one cluster. */
export interface ClusterNames {
  readonly name: string;
  readonly tasksStream: string;
  readonly resultsStream: string;
  /** Durable pull consumer the hosts share. */
  readonly hostsConsumer: string;
  tasks(client: string): string;
  results(client: string): string;
  readonly allTasks: string;
  readonly allResults: string;
  readonly cancel: string;
  readonly heartbeats: string;
  client(client: string): string;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The names of cluster `name`.
 *
 * @throws {TypeError} when `name` is not 1–64 letters, digits, `-` or `_`.
 */
export function clusterNames(name: unknown, where: string): ClusterNames {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Cannot ${where} as 'name' must be 1 to 64 letters, digits, '-' or '_': current value ` +
        `is ${typeof name === "string" ? JSON.stringify(name) : typeof name}`,
    );
  }
  const base = `seedpool.${name}`;
  const upper = name.toUpperCase().replaceAll("-", "_");
  return {
    name,
    tasksStream: `SEEDPOOL_${upper}_TASKS`,
    resultsStream: `SEEDPOOL_${upper}_RESULTS`,
    hostsConsumer: "hosts",
    tasks: (client) => `${base}.tasks.${client}`,
    results: (client) => `${base}.results.${client}`,
    allTasks: `${base}.tasks.>`,
    allResults: `${base}.results.>`,
    cancel: `${base}.cancel`,
    heartbeats: `${base}.hosts`,
    client: (client) => `${base}.clients.${client}`,
  };
}

/** How a client's tasks want their workers made: the pool options a host honours. */
export interface WorkerProfile {
  readonly isolation: Isolation;
  /** Whether the client asked for `isolation` (a host's own is a floor, never lowered). */
  readonly isolationGiven: boolean;
  readonly initializer: FunctionDefinition | null;
  readonly initArgs: readonly unknown[];
  readonly maxTasksPerWorker: number;
  readonly memoryLimitMb: number | undefined;
}

/** One task of a batch: a call, or one chunk of a map. */
export interface RemoteTask {
  readonly id: number;
  readonly fnId: number;
  readonly mode: CallMode;
  /** A call's arguments; a map chunk's items, packed when they are numbers. */
  readonly args: readonly unknown[] | Packed;
}

/** One message of the tasks stream: tasks of one client and one permission set. */
export interface TaskBatch {
  readonly client: string;
  readonly profile: WorkerProfile;
  /** Delivered more often than this (its hosts died), the batch fails with `WorkerCrashError`. */
  readonly maxDeliver: number;
  /** The set its tasks run under; `undefined`: the host's ceiling. */
  readonly permissions: CanonicalPermissions | undefined;
  /** The definitions of the functions its tasks call, by `fnId`. */
  readonly definitions: readonly FunctionDefinition[];
  readonly tasks: readonly RemoteTask[];
}

/** An error as it crosses machines: the caller sees the same class and message. */
export interface RemoteError {
  /** `TaskError`, `WorkerCrashError`, `PermissionError`, `TypeError`, `RangeError`, … */
  readonly name: string;
  readonly message: string;
  readonly cause?: ThrownData;
}

/** What a host says about one task. */
export type ResultEntry =
  | { readonly id: number; readonly started: number }
  | {
    readonly id: number;
    readonly started: number;
    readonly runMs: number;
    /** The result; a map chunk's results, packed when they are numbers. */
    readonly value: unknown;
  }
  | {
    readonly id: number;
    readonly started: number;
    readonly runMs: number;
    readonly error: RemoteError;
  };

/** One message of the results stream. */
export interface ResultBatch {
  /** The host's name. */
  readonly host: string;
  /** Its workers and isolation, for a client that hears of it here first. */
  readonly workers: number;
  readonly isolation: Isolation;
  readonly entries: readonly ResultEntry[];
}

/** A host's heartbeat. */
export interface Heartbeat {
  readonly host: string;
  readonly state: "joined" | "left";
  readonly workers: number;
  readonly busy: number;
  readonly isolation: Isolation;
}

/** Tasks a client gave up: hosts skip them, and stop them where they run. */
export interface CancelNotice {
  readonly client: string;
  readonly ids: readonly number[];
  /** The whole client is gone (closed or terminated): drop all its tasks. */
  readonly all?: boolean;
}

/** The header of a task message of many tasks: its value is "many". */
export const TASKS_HEADER = "Seedpool-Tasks";

/** Arrays of numbers at least this long travel as a `Float64Array` (see {@link packNumbers}). */
const PACK_MIN = 16;

/**
 * A map chunk's items or results as they travel: an array of numbers only becomes a
 * `Float64Array` in a {@link Packed} box (V8 serializes those as bytes, where a number array
 * costs it a value at a time: the cluster's map spent a third of its time there), anything
 * else stays as it is. Only arrays the pool made (chunks of an input, a worker's results)
 * are packed, so nothing else they could carry is lost.
 */
export function packNumbers(values: readonly unknown[]): readonly unknown[] | Packed {
  const length = values.length;
  if (length < PACK_MIN) return values;
  for (let i = 0; i < length; i++) if (typeof values[i] !== "number") return values;
  return { packed: Float64Array.from(values as number[]) };
}

/** Numbers packed by {@link packNumbers}. */
export interface Packed {
  readonly packed: Float64Array;
}

/** The array that {@link packNumbers} packed, or `values` itself. */
export function unpackNumbers(values: readonly unknown[] | Packed): unknown[] {
  if (Array.isArray(values)) return values;
  // A loop of pushes: 6× as fast as Array.from here, and a packed array (no holes), which
  // the structured clone on to a worker copies as fast as it can.
  const packed = (values as Packed).packed;
  const out: number[] = [];
  for (let i = 0; i < packed.length; i++) out.push(packed[i]!);
  return out;
}

/** Serializes a message; throws what V8 throws for what cannot be cloned. */
export function encode(message: unknown): Uint8Array {
  return serialize(message);
}

/** Reads a message serialized by {@link encode}. */
export function decode<T>(data: Uint8Array): T {
  return deserialize(data) as T;
}

/** Milliseconds as the nanoseconds of JetStream's configuration. */
export function nanosOf(ms: number): number {
  return Math.round(ms * 1e6);
}
