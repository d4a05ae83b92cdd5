/**
 * A first-in first-out queue with O(1) push, shift and (for requeueing) unshift: a ring
 * buffer whose capacity is a power of two. It keeps its capacity when it empties, so a queue
 * that goes 0 → 1 → 0 on every call (a lone `apply`) allocates nothing; an array emptied
 * with `length = 0` would drop its storage and allocate it again on the next push.
 *
 * @module
 */

const MIN_CAPACITY = 8;
/** Beyond this capacity an emptied queue gives its storage back (a burst is over). */
const KEEP_CAPACITY = 4096;

export class Fifo<T> {
  #items: (T | undefined)[] = new Array(MIN_CAPACITY);
  #head = 0;
  #length = 0;

  /** How many items are in the queue. */
  get length(): number {
    return this.#length;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** Adds an item at the front, to be taken next. */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Takes the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    if (--this.#length === 0) this.#emptied();
    return item;
  }

  /** The front item without taking it. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes one item wherever it stands (O(n)); returns whether it was there. */
  remove(item: T): boolean {
    const mask = this.#items.length - 1;
    for (let i = 0; i < this.#length; i++) {
      if (this.#items[(this.#head + i) & mask] !== item) continue;
      for (let j = i; j < this.#length - 1; j++) {
        this.#items[(this.#head + j) & mask] = this.#items[(this.#head + j + 1) & mask];
      }
      this.#items[(this.#head + this.#length - 1) & mask] = undefined;
      if (--this.#length === 0) this.#emptied();
      return true;
    }
    return false;
  }

  /** Removes every item. */
  clear(): void {
    if (this.#items.length > KEEP_CAPACITY) this.#items = new Array(MIN_CAPACITY);
    else this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  /** Iterates front to back without taking. */
  *[Symbol.iterator](): IterableIterator<T> {
    const mask = this.#items.length - 1;
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & mask] as T;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
  }

  #emptied(): void {
    this.#head = 0;
    if (this.#items.length > KEEP_CAPACITY) this.#items = new Array(MIN_CAPACITY);
  }
}
