/** @jsxImportSourceTypes @types/react */
/**
 * Wait and run latency percentiles on one line.
 *
 * @module
 */

import { Text } from "ink";
import { memo } from "react";
import type { LatencySummary } from "../../mod.ts";
import { duration } from "../format.ts";

/** Props of `Latency`. */
export interface LatencyProps {
  readonly waitMs: LatencySummary;
  readonly runMs: LatencySummary;
  readonly width: number;
}

/** `latency  wait p50 … p95 … p99 … │ run p50 … p95 … p99 …`, tighter below 100 columns. */
export const Latency = memo(function Latency({ waitMs, runMs, width }: LatencyProps) {
  const gap = width >= 100 ? "  " : " ";
  const summary = (s: LatencySummary) =>
    `p50 ${duration(s.p50)}${gap}p95 ${duration(s.p95)}${gap}p99 ${duration(s.p99)}`;
  return (
    <Text wrap="truncate">
      <Text bold>{` latency`}</Text>
      <Text dimColor>{`${gap}wait `}</Text>
      <Text>{summary(waitMs)}</Text>
      <Text dimColor>{`${gap}│ run `}</Text>
      <Text>{summary(runMs)}</Text>
    </Text>
  );
});
