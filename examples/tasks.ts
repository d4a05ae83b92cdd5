/**
 * A task module for examples/task_module.ts: plain exported functions, imported by each
 * worker the first time it runs one of them. Unlike inline functions they may import
 * whatever they need and call each other.
 *
 * @module
 */

/** The square of `x`. */
export function square(x: number): number {
  return x * x;
}

/** The sum of `a` and `b`. */
export function add(a: number, b: number): number {
  return a + b;
}

/** How often each word occurs in `text` (a Map survives the trip back intact). */
export function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of words(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** Waits `ms` milliseconds, then returns `value`: an async task. */
export async function delayed(value: string, ms: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

// Not exported, so not a task: a helper the tasks share, which an inline function could not use.
function words(text: string): string[] {
  return text.toLowerCase().split(/\W+/).filter(Boolean);
}
