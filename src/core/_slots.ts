/**
 * An unordered set whose members carry their own index: add and delete are O(1) and, unlike
 * a `Set` that goes 0 → 1 → 0 on every call (V8 rehashes it each time it shrinks), allocate
 * nothing once the array has grown.
 *
 * @module
 */

/** A member of a {@link SlotList}: `slot` is its index there, -1 when it is not in one. */
export interface Slotted {
  slot: number;
}

export class SlotList<T extends Slotted> {
  // Never shortened: \`pop()\` to empty makes V8 free the storage, and the next add allocate
  // it again, on every lone call.
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  /** How many members there are. */
  get size(): number {
    return this.#size;
  }

  /** Adds a member that is in no list. */
  add(item: T): void {
    item.slot = this.#size;
    this.#items[this.#size++] = item;
  }

  /** Removes a member; returns whether it was here. */
  delete(item: T): boolean {
    const at = item.slot;
    if (at < 0 || at >= this.#size || this.#items[at] !== item) return false;
    const last = this.#items[--this.#size]!;
    this.#items[this.#size] = undefined;
    if (last !== item) {
      this.#items[at] = last;
      last.slot = at;
    }
    item.slot = -1;
    return true;
  }

  /** The members now, as an array of their own (safe to change the list while using it). */
  toArray(): T[] {
    return this.#items.slice(0, this.#size) as T[];
  }
}
