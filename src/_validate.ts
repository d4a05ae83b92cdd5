/**
 * Argument checks shared by the pool's constructor and calls: each error names the argument,
 * the action and the value, std's way (`TypeError` for a wrong type, `RangeError` for a value
 * out of range).
 *
 * @module
 */

/** The call options these checks look at. */
export interface CheckedCallOptions {
  readonly chunksize?: number | undefined;
  readonly timeout?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly transfer?: readonly Transferable[] | undefined;
  readonly callback?: unknown;
  readonly errorCallback?: unknown;
}

export function positiveInteger(value: unknown, name: string, action = "create pool"): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current value is ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return value;
}

export function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create pool as '${name}' must be a number: current value is ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot create pool as '${name}' must be a non-negative integer: current value is ${value}`,
    );
  }
  return value;
}

export function nonNegativeNumber(value: unknown, name: string, action = "create pool"): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: current value is ${typeof value}`,
    );
  }
  if (!(value >= 0) || value === Infinity) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a non-negative number: current value is ${value}`,
    );
  }
  return value;
}

export function checkCallOptions(options: CheckedCallOptions | undefined, method: string): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${method} as 'options' must be an object`);
  }
  if (options.chunksize !== undefined) positiveInteger(options.chunksize, "chunksize", method);
  if (options.timeout !== undefined) nonNegativeNumber(options.timeout, "timeout", method);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`Cannot ${method} as 'signal' must be an AbortSignal`);
  }
  if (options.transfer !== undefined && !Array.isArray(options.transfer)) {
    throw new TypeError(`Cannot ${method} as 'transfer' must be an array of transferables`);
  }
  // Checked here, not when the call ends: a callback that is not a function would throw
  // then, far from the call, as an uncaught error.
  if (options.callback !== undefined) callable(options.callback, "callback", method);
  if (options.errorCallback !== undefined) {
    callable(options.errorCallback, "errorCallback", method);
  }
}

function callable(value: unknown, name: string, method: string): void {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${method} as '${name}' must be a function: current value is ${typeName(value)}`,
    );
  }
}

/** The type of a value for messages: `typeof`, but `null` and `array` by name. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "array" : typeof value;
}

export function checkIterable(iterable: unknown, method: string): void {
  const ok = iterable !== null && iterable !== undefined &&
    (typeof (iterable as Iterable<unknown>)[Symbol.iterator] === "function" ||
      typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function");
  if (!ok || typeof iterable === "string") {
    throw new TypeError(
      `Cannot ${method} as 'iterable' must be an Iterable or AsyncIterable (not a string): ` +
        `current value is ${iterable === null ? "null" : typeof iterable}`,
    );
  }
}

export function checkArgumentLists(items: readonly unknown[], method: string): void {
  for (let i = 0; i < items.length; i++) {
    if (!Array.isArray(items[i])) {
      throw new TypeError(
        `Cannot ${method} as item ${i} must be an array of arguments: current value is ` +
          `${typeof items[i]}`,
      );
    }
  }
}
