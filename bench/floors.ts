/**
 * The raw-Worker floor: a few Web Workers running `raw_worker.ts`, messages posted
 * round-robin, each reply resolving its promise from a `Map<id, resolve>`. This is what a
 * pool would cost if it did nothing but move messages, so every pool row is read against it.
 *
 * @module
 */

const RAW_WORKER_URL = new URL("./raw_worker.ts", import.meta.url);

type Reply = { readonly id: number; readonly value: unknown };

/** A handful of raw workers that each run one task of `bench/tasks.ts`. */
export class RawWorkers {
  readonly #workers: Worker[];
  readonly #pending = new Map<number, (value: unknown) => void>();
  #nextId = 0;
  #nextWorker = 0;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  /**
   * Starts `size` workers running `task`, and resolves once each has loaded.
   *
   * @param task An export of `bench/tasks.ts`; with `each: true` every message carries an
   * array and the worker maps the task over it.
   */
  static async start(
    size: number,
    task: string,
    options: { each?: boolean } = {},
  ): Promise<RawWorkers> {
    const name = options.each ? `${task}[]` : task;
    const loaded: Promise<void>[] = [];
    const workers: Worker[] = [];
    for (let i = 0; i < size; i++) {
      const worker = new Worker(RAW_WORKER_URL, { type: "module", name });
      workers.push(worker);
      loaded.push(
        new Promise((resolve, reject) => {
          worker.onmessage = () => resolve();
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`Raw worker for '${task}' failed to start: ${event.message}`));
          };
        }),
      );
    }
    const raw = new RawWorkers(workers);
    try {
      await Promise.all(loaded);
    } catch (error) {
      raw.close();
      throw error;
    }
    for (const worker of workers) {
      // The one handler of every reply; it stays this small on purpose (it is the floor).
      worker.onmessage = (event: MessageEvent<Reply>) => {
        const { id, value } = event.data;
        const resolve = raw.#pending.get(id)!;
        raw.#pending.delete(id);
        resolve(value);
      };
    }
    return raw;
  }

  /** How many workers there are. */
  get size(): number {
    return this.#workers.length;
  }

  /** Posts one message to the next worker in turn and resolves with its reply. */
  call<R = unknown>(arg: unknown, transfer?: Transferable[]): Promise<R> {
    const index = this.#nextWorker;
    this.#nextWorker = (index + 1) % this.#workers.length;
    return this.callOn(index, arg, transfer);
  }

  /** Posts one message to worker `index` and resolves with its reply. */
  callOn<R = unknown>(index: number, arg: unknown, transfer?: Transferable[]): Promise<R> {
    const id = this.#nextId++;
    const reply = new Promise<R>((resolve) => {
      this.#pending.set(id, resolve as (value: unknown) => void);
    });
    this.#workers[index]!.postMessage({ id, arg }, transfer ?? []);
    return reply;
  }

  /** Terminates every worker. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
