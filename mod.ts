/**
 * seed pool: Python's `multiprocessing.Pool` rebuilt for Deno on Web Workers, typed end to
 * end, with tasks that run under exactly the Deno permissions you grant them.
 *
 * @example Squares, in parallel
 * ```ts
 * import { Pool } from "@seed/pool";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool(2);
 * assert.deepEqual(await pool.map((x: number) => x * x, [1, 2, 3]), [1, 4, 9]);
 * ```
 *
 * @module
 */

export { Pool } from "./src/core/pool.ts";
export type {
  ApplyAsyncOptions,
  CallOptions,
  ClusterHandle,
  ImapOptions,
  MapAsyncOptions,
  MapOptions,
  PoolOptions,
} from "./src/core/options.ts";
export {
  AsyncResult,
  type ResultCallbacks,
  type ResultSource,
  type ResultState,
} from "./src/core/results.ts";
export {
  PermissionError,
  PoolClosedError,
  QueueFullError,
  TaskError,
  TimeoutError,
  WorkerCrashError,
} from "./src/core/errors.ts";
export {
  type Task,
  type TaskFn,
  type TaskModule,
  taskModule,
  type TaskRef,
} from "./src/core/task.ts";
export {
  type CanonicalPermissions,
  PERMISSION_NAMES,
  type PermissionName,
  type Permissions,
  type PermissionsKey,
  permissionsKey,
  type PermissionValue,
} from "./src/permissions/descriptor.ts";
export type {
  Isolation,
  PoolEventMap,
  PoolEventType,
  TaskEndDetail,
  TaskQueuedDetail,
  TaskStartDetail,
  WorkerExitDetail,
  WorkerExitReason,
  WorkerSpawnDetail,
  WorkerState,
} from "./src/core/events.ts";
export type {
  HostStats,
  LatencySummary,
  PoolState,
  PoolStats,
  WorkerStats,
} from "./src/core/stats.ts";
