/**
 * Text helpers of the dashboard: numbers, durations, bars and sparklines as fixed-width
 * strings. Pure, so frames are predictable and easy to test.
 *
 * @module
 */

const EIGHTHS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;
const BAR_EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"] as const;

/**
 * A duration in ms as a short human string: `0.4ms`, `12ms`, `1.2s`, `3m 04s`, `2h 05m`.
 *
 * @example
 * ```ts
 * import { duration } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(duration(1234), "1.2s");
 * ```
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms === 0) return "0ms";
  if (ms < 0.1) return "<0.1ms";
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/**
 * A count with thousands separators, or k/M beyond a million.
 *
 * @example
 * ```ts
 * import { count } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(count(12345), "12,345");
 * ```
 */
export function count(n: number): string {
  if (n >= 10_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * A rate (per second) with about three significant digits.
 *
 * @example
 * ```ts
 * import { rate } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(rate(14.25), "14.3");
 * ```
 */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return "0";
  if (perSecond >= 10_000) return `${(perSecond / 1000).toFixed(0)}k`;
  if (perSecond >= 100) return perSecond.toFixed(0);
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

/**
 * A share 0..1 as a whole percentage.
 *
 * @example
 * ```ts
 * import { percent } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(percent(0.724), "72%");
 * ```
 */
export function percent(share: number): string {
  return `${Math.round(Math.min(1, Math.max(0, share)) * 100)}%`;
}

/**
 * Cuts `text` to `width` cells (adding `…` when cut) and pads it with spaces to exactly `width`.
 *
 * @example
 * ```ts
 * import { fit } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(fit("monteCarloPi", 6), "monte…");
 * ```
 */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  const chars = [...text];
  const cut = chars.length > width ? chars.slice(0, width - 1).join("") + "…" : text;
  const pad = " ".repeat(Math.max(0, width - Math.min(chars.length, width)));
  return align === "left" ? cut + pad : pad + cut;
}

/**
 * A horizontal bar `width` cells wide, filled to `share` (0..1) with eighth-cell precision.
 *
 * @example
 * ```ts
 * import { bar } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(bar(0.5, 4), "██  ");
 * ```
 */
export function bar(share: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, share)) * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = full < width ? BAR_EIGHTHS[eighths % 8]! : "";
  return ("█".repeat(full) + rest).padEnd(width, " ");
}

/**
 * A sparkline of `values`, `height` rows tall, scaled so `max` fills the top row. Returns the
 * rows top first, each as long as `values`.
 *
 * @example
 * ```ts
 * import { sparkline } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(sparkline([0, 1, 2, 4], 4, 1), [" ▂▄█"]);
 * ```
 */
export function sparkline(values: readonly number[], max: number, height = 1): string[] {
  const rows: string[] = Array.from({ length: height }, () => "");
  for (const value of values) {
    // In eighths of a row, from the bottom; a non-zero value always shows at least a sliver.
    let level = max > 0 ? Math.round((Math.max(0, value) / max) * height * 8) : 0;
    if (value > 0 && level === 0) level = 1;
    for (let row = 0; row < height; row++) {
      const fromBottom = height - 1 - row;
      const inRow = Math.min(8, Math.max(0, level - fromBottom * 8));
      rows[row] += EIGHTHS[inRow]!;
    }
  }
  return rows;
}

/**
 * One busy/idle lane cell: blank when idle, a rising block as the tick gets busier.
 *
 * @example
 * ```ts
 * import { laneGlyph } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(laneGlyph(1), "█");
 * ```
 */
export function laneGlyph(busy: number): string {
  if (busy <= 0) return "·";
  return EIGHTHS[Math.max(1, Math.round(Math.min(1, busy) * 8))]!;
}

/**
 * A wall-clock time as `HH:MM:SS` in the local time zone.
 *
 * @example
 * ```ts
 * import { clock } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * const fiveSecondsPastNine = new Date(2026, 0, 1, 9, 0, 5).getTime();
 * assert.equal(clock(fiveSecondsPastNine), "09:00:05");
 * ```
 */
export function clock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}

/**
 * A permission key with each path shortened to `…/` and its last segment, so it fits a column:
 * `read=/home/me/app/tui` becomes `read=…/tui`.
 *
 * @example
 * ```ts
 * import { shortPermissions } from "./format.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shortPermissions("read=/work/app/tui net"), "read=…/tui net");
 * ```
 */
export function shortPermissions(key: string): string {
  return key.replace(/(?<=[=,])\/[^\s,]*/g, (path) => {
    const last = path.split("/").filter(Boolean).at(-1);
    return last === undefined ? path : `…/${last}`;
  });
}
