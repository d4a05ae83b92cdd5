/**
 * The task bodies of every benchmark, the same as in each library measured in BENCH.md.
 * The pool reaches them through `taskModule` references, and the raw-Worker floor imports
 * them directly, so both sides run exactly the same code.
 *
 * @module
 */

/** Returns its argument: the cost of a task is then only the pool's own. */
export function identity<T>(x: T): T {
  return x;
}

/** Squares a number. */
export function square(x: number): number {
  return x * x;
}

/** Counts how many of `n` random points of the unit square fall inside the unit circle. */
export function monteCarlo(n: number): number {
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) inside++;
  }
  return inside;
}

/** Sums a Float64Array. */
export function sumF64(values: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum;
}

/** Blocks the thread for `ms` milliseconds (a task that holds its worker without working). */
export function sleepSync(ms: number): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
}

/**
 * Holds its worker for `|ms|` ms: blocking it (`ms > 0`, a synchronous task) or waiting on a
 * timer (`ms < 0`, an asynchronous one). Returns how long it really ran, ms, so a bench can
 * compute the best schedule from what the tasks really took.
 */
export function hold(ms: number): number | Promise<number> {
  const start = performance.now();
  if (ms > 0) {
    sleepSync(ms);
    return performance.now() - start;
  }
  return new Promise((resolve) => setTimeout(() => resolve(performance.now() - start), -ms));
}

/**
 * Blocks its worker for `ms` milliseconds, then returns `x`: a task of known length whose
 * result still says which task it was (W8 checks every result of a map a host died in).
 */
export function echoAfter(x: number, ms: number): number {
  sleepSync(ms);
  return x;
}
