/**
 * The progress line of `pool map` on stderr: done/total when the total is known, a bar,
 * the rate over the last few seconds, the time left, and failures. It is drawn only when
 * stderr is a terminal, so piped or logged runs stay clean.
 *
 * @module
 */

/** What the progress line shows. */
export interface ProgressState {
  /** Lines finished (results and failures). */
  readonly done: number;
  /** Lines failed. */
  readonly failed: number;
  /** Lines in all, when known. */
  readonly total: number | undefined;
  /** Lines per second, recently. */
  readonly rate: number;
  /** Time since the start, ms. */
  readonly elapsedMs: number;
}

/**
 * Formats the progress line (without terminal control codes).
 *
 * @param state What to show.
 * @param width The terminal's width in columns; the bar takes what the text leaves.
 * @returns One line, at most `width` characters.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * import assert from "node:assert/strict";
 *
 * const line = formatProgress(
 *   { done: 250, failed: 2, total: 1000, rate: 50, elapsedMs: 5000 },
 *   60,
 * );
 * assert.match(line, /250\/1,000 25%/);
 * assert.match(line, /50\.0\/s/);
 * assert.match(line, /ETA 0:15/);
 * assert.match(line, /2 failed/);
 * assert.ok(line.length <= 60);
 * ```
 */
export function formatProgress(state: ProgressState, width = 80): string {
  const { done, failed, total, rate, elapsedMs } = state;
  const count = total === undefined
    ? `${done.toLocaleString("en-US")} done`
    : `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} ${
      total === 0 ? 100 : Math.floor((done / total) * 100)
    }%`;
  const parts = [count, `${formatRate(rate)}/s`];
  if (total !== undefined && total > done && rate > 0) {
    parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
  } else {
    parts.push(formatDuration(elapsedMs));
  }
  if (failed > 0) parts.push(`${failed.toLocaleString("en-US")} failed`);
  const text = parts.join("  ");
  const barWidth = Math.min(30, width - text.length - 3);
  if (total === undefined || barWidth < 5) return text.slice(0, width);
  const filled = total === 0 ? barWidth : Math.min(barWidth, Math.round((done / total) * barWidth));
  return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${text}`;
}

function formatRate(rate: number): string {
  if (rate >= 100) return Math.round(rate).toLocaleString("en-US");
  if (rate >= 10) return rate.toFixed(1);
  return rate.toFixed(2);
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Options of {@linkcode ProgressReporter}. */
export interface ProgressReporterOptions {
  /** Draws a line; the text includes the terminal codes that redraw it in place. */
  readonly write: (text: string) => void;
  /** The terminal's width; default 80. */
  readonly columns?: () => number;
  /** Redraw interval, ms; default 200. */
  readonly intervalMs?: number;
}

/** How far back the rate looks, ms. */
const RATE_WINDOW_MS = 5_000;

/**
 * Counts finished lines and redraws the progress line on a timer until stopped.
 *
 * @example
 * ```ts
 * import { ProgressReporter } from "./progress.ts";
 * import assert from "node:assert/strict";
 *
 * let drawn = "";
 * const progress = new ProgressReporter({ write: (text) => drawn += text });
 * progress.start();
 * progress.setTotal(2);
 * progress.record(true);
 * progress.record(false);
 * progress.stop();
 * assert.match(drawn, /2\/2 100%/);
 * assert.match(drawn, /1 failed/);
 * ```
 */
export class ProgressReporter {
  readonly #options: ProgressReporterOptions;
  #done = 0;
  #failed = 0;
  #total: number | undefined = undefined;
  #startedAt = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Recent (time, done) samples for the rate. */
  #samples: { at: number; done: number }[] = [];

  /** Creates a reporter; nothing is drawn before `start()`. */
  constructor(options: ProgressReporterOptions) {
    this.#options = options;
  }

  /** Starts the clock and the redraw timer. */
  start(): void {
    this.#startedAt = performance.now();
    this.#samples = [{ at: this.#startedAt, done: 0 }];
    this.#timer = setInterval(() => this.#draw(), this.#options.intervalMs ?? 200);
  }

  /** Sets the total once known (for example once a file's lines are counted). */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** Counts one finished line. */
  record(ok: boolean): void {
    this.#done++;
    if (!ok) this.#failed++;
  }

  /** Stops redrawing; draws the final state, then ends the line. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
    this.#options.write("\n");
  }

  #draw(): void {
    const now = performance.now();
    this.#samples.push({ at: now, done: this.#done });
    while (this.#samples.length > 2 && now - this.#samples[1]!.at >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
    const oldest = this.#samples[0]!;
    const span = now - oldest.at;
    const rate = span > 0 ? ((this.#done - oldest.done) / span) * 1000 : 0;
    // A pseudo terminal without a size reports 0 columns.
    const columns = this.#options.columns?.() || 80;
    const line = formatProgress(
      {
        done: this.#done,
        failed: this.#failed,
        total: this.#total,
        rate,
        elapsedMs: now - this.#startedAt,
      },
      columns - 1,
    );
    // Carriage return and "erase line" redraw in place.
    this.#options.write(`\r\x1b[2K${line}`);
  }
}
