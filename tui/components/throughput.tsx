/** @jsxImportSourceTypes @types/react */
/**
 * Throughput over the last minute as a sparkline, with its scale.
 *
 * @module
 */

import { Text } from "ink";
import { memo } from "react";
import { fit, rate, sparkline } from "../format.ts";

/** Props of `Throughput`. */
export interface ThroughputProps {
  /** Tasks/s per tick, oldest first. */
  readonly history: readonly number[];
  readonly width: number;
  /** Rows of the sparkline. */
  readonly height: number;
}

/**
 * The sparkline, newest at the right, scaled to the highest rate shown; the scale is on the
 * left of the top and bottom rows.
 */
export const Throughput = memo(function Throughput({ history, width, height }: ThroughputProps) {
  const label = 7;
  const shown = history.slice(-Math.max(0, width - label - 1));
  const peak = Math.max(0, ...shown);
  const rows = sparkline(shown, peak, height);
  return (
    <>
      {rows.map((row, i) => (
        <Text key={i} wrap="truncate">
          <Text dimColor>
            {fit(i === 0 ? `${rate(peak)}/s` : i === rows.length - 1 ? "0" : "", label, "right")}
          </Text>{" "}
          <Text color="cyan">{row.padStart(shown.length)}</Text>
        </Text>
      ))}
    </>
  );
});
