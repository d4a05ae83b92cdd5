/**
 * The count of listeners per pool event, so the dispatcher builds no event nobody
 * listens to, and the {@link EventSink} that reads it.
 *
 * @module
 */

import type { PoolEventType } from "./events.ts";
import type { EventSink } from "./executor.ts";

/** Listeners counted per pool event type; other event types are not counted. */
export class ListenerCounts {
  /** Read by the dispatcher before it builds an event (see `EventSink.listening`). */
  readonly listening: Record<PoolEventType, number> = {
    workerspawn: 0,
    workerexit: 0,
    taskqueued: 0,
    taskstart: 0,
    taskend: 0,
  };

  /** Counts a listener just added for `type`, and uncounts it when its signal aborts. */
  added(
    type: string,
    listener: unknown,
    options: boolean | AddEventListenerOptions | undefined,
  ): void {
    if (listener && type in this.listening) {
      // Counted, so events nobody listens to are never built. Over-counting (a `once`
      // listener that fired) only costs building an event nobody receives.
      this.listening[type as PoolEventType]++;
      const signal = typeof options === "object" ? options.signal : undefined;
      signal?.addEventListener("abort", () => this.listening[type as PoolEventType]--, {
        once: true,
      });
    }
  }

  /** Uncounts a listener just removed for `type`. */
  removed(type: string, listener: unknown): void {
    if (listener && type in this.listening && this.listening[type as PoolEventType] > 0) {
      this.listening[type as PoolEventType]--;
    }
  }

  /** Where an executor's events go: dispatched on `target`, counted here. */
  sink(target: EventTarget): EventSink {
    return {
      listening: this.listening,
      emit: (type, detail) => target.dispatchEvent(new CustomEvent(type, { detail })),
    };
  }
}
