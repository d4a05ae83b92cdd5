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
  readonly window?: number | undefined;
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

/**
 * The most workers a pool may have. Far more threads or processes than cores only cost
 * memory and switching; a size in the millions is a slip, and would start that many
 * workers for a long enough map.
 */
export const MAX_POOL_SIZE = 1024;

/** A pool's `size`; by default one worker per core. */
export function poolSize(value: unknown): number {
  if (value === undefined) {
    return Math.min(MAX_POOL_SIZE, Math.max(1, navigator.hardwareConcurrency || 1));
  }
  const size = positiveInteger(value, "size");
  if (size > MAX_POOL_SIZE) {
    throw new RangeError(
      `Cannot create pool as 'size' must be at most ${MAX_POOL_SIZE}: current value is ${size}`,
    );
  }
  return size;
}

/** `memoryLimitMb`, which only a process worker can keep. */
export function memoryLimit(value: unknown, isolation: string): number {
  const mb = positiveInteger(value, "memoryLimitMb");
  if (isolation !== "process") {
    // A Web Worker's heap cannot be limited: ignoring the limit would promise what no
    // worker keeps.
    throw new TypeError(
      `Cannot create pool as 'memoryLimitMb' needs isolation: "process": current isolation ` +
        `is "${isolation}"`,
    );
  }
  return mb;
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

/**
 * A delay in ms: any non-negative number, `Infinity` for none. Delays beyond what
 * `setTimeout` takes are honoured by `setLongTimeout` (src/util/_timers.ts).
 */
export function timeoutMs(value: unknown, name: string, action: string): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number of milliseconds: current value is ` +
        typeName(value),
    );
  }
  if (!(value >= 0)) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a non-negative number of milliseconds (or ` +
        `Infinity for none): current value is ${value}`,
    );
  }
  return value;
}

/** The call methods, each with the options it takes. */
const CALL_OPTIONS = (() => {
  const every = ["permissions", "signal", "timeout", "transfer"];
  const callbacks = ["callback", "errorCallback"];
  const map = new Set([...every, "chunksize"]);
  const mapAsync = new Set([...map, ...callbacks]);
  const imap = new Set([...map, "window"]);
  return {
    apply: new Set(every),
    applyAsync: new Set([...every, ...callbacks]),
    map,
    starmap: map,
    mapAsync,
    starmapAsync: mapAsync,
    imap,
    imapUnordered: imap,
  } satisfies Record<string, ReadonlySet<string>>;
})();

/** A pool method that takes call options. */
export type CallMethod = keyof typeof CALL_OPTIONS;

/**
 * Checks a call's options: each known one for its type and range, and that there is no
 * other (a misspelt `chunkSize` or `timout` would otherwise be ignored in silence).
 */
export function checkCallOptions(
  options: CheckedCallOptions | undefined,
  method: CallMethod,
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${method} as 'options' must be an object: current value is ${typeName(options)}`,
    );
  }
  // `for in` allocates nothing (Object.keys would build an array on every call).
  const known = CALL_OPTIONS[method];
  for (const key in options) {
    if (!known.has(key)) throw unknownOption(key, known, method, method);
  }
  if (options.chunksize !== undefined) positiveInteger(options.chunksize, "chunksize", method);
  if (options.window !== undefined) positiveInteger(options.window, "window", method);
  if (options.timeout !== undefined) timeoutMs(options.timeout, "timeout", method);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot ${method} as 'signal' must be an AbortSignal: current value is ` +
        typeName(options.signal),
    );
  }
  if (options.transfer !== undefined && !Array.isArray(options.transfer)) {
    throw new TypeError(
      `Cannot ${method} as 'transfer' must be an array of transferables: current value is ` +
        typeName(options.transfer),
    );
  }
  // Checked here, not when the call ends: a callback that is not a function would throw
  // then, far from the call, as an uncaught error.
  if (options.callback !== undefined) callable(options.callback, "callback", method);
  if (options.errorCallback !== undefined) {
    callable(options.errorCallback, "errorCallback", method);
  }
}

/**
 * The TypeError for an option nobody takes, naming the closest known one when it looks
 * like a slip of the keyboard (`chunkSize`, `timout`).
 */
export function unknownOption(
  key: string,
  known: Iterable<string>,
  action: string,
  owner: string,
): TypeError {
  let closest: string | undefined;
  let closestDistance = 3; // more than two edits apart is another word, not a typo
  for (const name of known) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(name, key);
    if (distance < closestDistance) [closest, closestDistance] = [name, distance];
  }
  const hint = closest === undefined ? "" : `: did you mean '${closest}'?`;
  return new TypeError(`Cannot ${action} as '${key}' is not an option of ${owner}${hint}`);
}

/** Levenshtein distance, for the few short names of a typo hint. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
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

/**
 * Checks a call's input and returns it as an object: a string, iterable as in Python (one
 * item per character, as `for…of` reads it), becomes its iterator.
 */
export function checkIterable(iterable: unknown, method: string): object {
  if (typeof iterable === "string") return iterable[Symbol.iterator]();
  const ok = iterable !== null &&
    (typeof iterable === "object" || typeof iterable === "function") &&
    (typeof (iterable as Iterable<unknown>)[Symbol.iterator] === "function" ||
      typeof (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function");
  if (!ok) {
    throw new TypeError(
      `Cannot ${method} as 'iterable' must be an Iterable or AsyncIterable: current value is ` +
        typeName(iterable),
    );
  }
  return iterable;
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
