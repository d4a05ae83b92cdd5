/**
 * How the pool reaches one worker, whatever it is: a Web Worker thread, or a Deno
 * subprocess. The pool only sends `ToWorker` messages and hears `FromWorker` messages and
 * the worker's end; everything else about a worker's kind lives behind this interface.
 *
 * @module
 */

import type { CanonicalPermissions } from "../permissions/descriptor.ts";
import type { FromWorker, ToWorker } from "../wire/protocol.ts";

/** What a transport tells the pool. */
export interface TransportListener {
  /** A message from the worker. */
  message(message: FromWorker): void;
  /**
   * The worker ended without being asked (it crashed, ran out of memory, was killed) or
   * could not start. `error` says why. Called at most once, never after `terminate()`.
   */
  exit(error: unknown): void;
}

/** One worker as the pool sees it. */
export interface Transport {
  /** Sends a message, moving `transfer` where the transport can; throws DataCloneError. */
  send(message: ToWorker, transfer?: Transferable[]): void;
  /** Stops the worker now (a process is killed). Resolves when it is gone. */
  terminate(): Promise<void>;
}

/** What a transport is created with. */
export interface TransportOptions {
  readonly workerId: number;
  /** `undefined` for the pool's default, which passes no permission option at all. */
  readonly permissions: CanonicalPermissions | undefined;
  readonly memoryLimitMb: number | undefined;
  /**
   * Task modules the worker cannot read itself, to put in its start-up graph (see
   * src/transport/_task_modules.ts).
   */
  readonly modules: readonly string[];
  readonly listener: TransportListener;
}

/** Creates a transport to a new worker. */
export type TransportFactory = (options: TransportOptions) => Transport;
