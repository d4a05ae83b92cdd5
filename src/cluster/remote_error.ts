/**
 * Errors across machines: a host sends the class name, the message and what the task threw
 * (as the wire's thrown-value codec carries it); the caller gets the same class back, so
 * `instanceof TaskError` holds on the far side as it does on a local pool.
 *
 * @module
 */

import {
  PermissionError,
  PoolClosedError,
  TaskError,
  TimeoutError,
  WorkerCrashError,
} from "../core/errors.ts";
import { fromThrownData, toThrownData } from "../wire/thrown.ts";
import type { RemoteError } from "./wire.ts";

const CLASSES: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
  TaskError,
  WorkerCrashError,
  PermissionError,
  TimeoutError,
  PoolClosedError,
  TypeError,
  RangeError,
};

/** An error raised on a host, as it travels. */
export function toRemoteError(error: unknown): RemoteError {
  const known = error instanceof Error && CLASSES[error.name] !== undefined;
  if (!known) {
    return {
      name: "TaskError",
      message: String((error as Error)?.message ?? error),
      cause: toThrownData(error),
    };
  }
  const { name, message, cause } = error as Error;
  return cause === undefined ? { name, message } : { name, message, cause: toThrownData(cause) };
}

/** The error a caller sees for a remote one: the same class and message. */
export function remoteErrorToCaller(remote: RemoteError): Error {
  const Class = CLASSES[remote.name] ?? TaskError;
  return remote.cause === undefined
    ? new Class(remote.message)
    : new Class(remote.message, { cause: fromThrownData(remote.cause) });
}
