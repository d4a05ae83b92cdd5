/**
 * Looking into a call's input and arguments: reading an input in full, sizing binary
 * payloads, and finding the transferables that belong to each chunk.
 *
 * @module
 */

export async function collect(
  iterable: Iterable<unknown> | AsyncIterable<unknown>,
): Promise<unknown[]> {
  if (Symbol.asyncIterator in iterable) {
    const items: unknown[] = [];
    for await (const item of iterable as AsyncIterable<unknown>) items.push(item);
    return items;
  }
  return Array.from(iterable as Iterable<unknown>);
}

/**
 * Roughly how many bytes of binary data (ArrayBuffers and their views) a task's arguments
 * hold at the top level, sampling long lists: enough to keep big payloads apart.
 */
export function binaryBytes(args: readonly unknown[]): number {
  const n = args.length;
  const step = n > 64 ? Math.floor(n / 64) : 1;
  let bytes = 0;
  for (let i = 0; i < n; i += step) bytes += valueBytes(args[i]);
  return bytes * step;
}

/** How many bytes of binary data a value is, when it is an ArrayBuffer or a view of one. */
export function valueBytes(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? value.byteLength : 0;
}

/** The transferables among a chunk's items (the item itself, or its buffer). */
export function transfersIn(items: readonly unknown[], transfer: Transferable[]): Transferable[] {
  const wanted = new Set<unknown>(transfer);
  const found = new Set<Transferable>();
  const visit = (value: unknown, depth: number) => {
    if (value === null || typeof value !== "object" || depth > 2) return;
    if (wanted.has(value)) found.add(value as Transferable);
    if (ArrayBuffer.isView(value) && wanted.has(value.buffer)) {
      found.add(value.buffer as Transferable);
    }
    if (Array.isArray(value)) { for (const v of value) visit(v, depth + 1); }
  };
  for (const item of items) visit(item, 0);
  return [...found];
}
