/** @jsxImportSourceTypes @types/react */
/**
 * Wait and run latency percentiles on one line.
 *
 * @module
 */

import { Text } from "ink";
import type { LatencySummary } from "../../src/stats.ts";
import { duration } from "../format.ts";

/** Props of `Latency`. */
export interface LatencyProps {
  readonly waitMs: LatencySummary;
  readonly runMs: LatencySummary;
}

/** `latency  wait p50 … p95 … p99 …   run p50 … p95 … p99 …` */
export function Latency({ waitMs, runMs }: LatencyProps) {
  const summary = (s: LatencySummary) =>
    `p50 ${duration(s.p50)}  p95 ${duration(s.p95)}  p99 ${duration(s.p99)}`;
  return (
    <Text wrap="truncate">
      <Text bold>{" latency"}</Text>
      <Text dimColor>{"  wait "}</Text>
      <Text>{summary(waitMs)}</Text>
      <Text dimColor>{"   run "}</Text>
      <Text>{summary(runMs)}</Text>
    </Text>
  );
}
