/**
 * The bench's output: a Markdown table (readable in a terminal, pasteable into the README)
 * and the same figures as JSON.
 *
 * @module
 */

import type { RowResult, Unit, WorkloadResult } from "./harness.ts";

/** Formats a value of `unit` with the precision its size deserves. */
export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case "items/s":
      if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
      if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
      return value.toFixed(0);
    case "×":
      return value.toFixed(2);
    case "MiB":
      return value.toFixed(1);
    case "µs/task":
    case "ms": {
      const magnitude = Math.abs(value);
      return value.toFixed(magnitude < 10 ? 2 : magnitude < 100 ? 1 : 0);
    }
  }
}

const HEADER = ["W", "measure", "median", "min … max", "unit", "vs floor", "note"];
const RIGHT = new Set([2, 3, 5]);

function cells(row: RowResult, runs: number): string[] {
  if (row.median === undefined) {
    return [row.workload, row.label, "n/a", "", "", "", `n/a: ${row.skipped ?? "not measured"}`];
  }
  const spread = row.values.length > 1
    ? `${formatValue(row.min!, row.unit)} … ${formatValue(row.max!, row.unit)}`
    : "";
  return [
    row.workload,
    row.label,
    formatValue(row.median, row.unit),
    spread,
    row.unit,
    row.ratio ? `${row.ratio.median.toFixed(2)}×` : "",
    [
      row.note,
      row.skipped && `${row.values.length} of ${runs} runs, then n/a: ${row.skipped}`,
    ].filter(Boolean).join("; "),
  ];
}

/** The results as one Markdown table, columns padded to line up in a terminal. */
export function formatTable(results: readonly WorkloadResult[]): string {
  const rows = results.flatMap((result) =>
    result.rows.map((row) => cells(row, result.runs.length))
  );
  const widths = HEADER.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length))
  );
  const line = (row: readonly string[]) =>
    `| ${
      row.map((cell, column) =>
        RIGHT.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)
      ).join(" | ")
    } |`;
  const rule = `|${
    widths.map((width, column) =>
      RIGHT.has(column) ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2)
    )
      .join("|")
  }|`;
  return [line(HEADER), rule, ...rows.map(line)].join("\n");
}

/** One line per workload: what it does. */
export function formatTitles(results: readonly WorkloadResult[]): string {
  return results.map((result) => `${result.id}  ${result.title}`).join("\n");
}

/** The JSON document written by `--json`. */
export function toJson(meta: Record<string, unknown>, results: readonly WorkloadResult[]): string {
  return JSON.stringify({ meta, workloads: results }, null, 2);
}
