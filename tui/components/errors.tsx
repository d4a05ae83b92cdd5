/** @jsxImportSourceTypes @types/react */
/**
 * The most recent errors: when, on which worker (`w3`, or `host/n` in a cluster), which task,
 * and the message.
 *
 * @module
 */

import { Text } from "ink";
import { memo } from "react";
import type { ErrorRow } from "../model.ts";
import { clock, fit } from "../format.ts";

/** Props of `ErrorList`. */
export interface ErrorListProps {
  /** Newest first. */
  readonly errors: readonly ErrorRow[];
  readonly width: number;
  readonly maxRows: number;
}

/** One line per error, newest first, as many as fit; "none yet" when there are none. */
export const ErrorList = memo(function ErrorList({ errors, width, maxRows }: ErrorListProps) {
  if (errors.length === 0) return <Text dimColor>{` none yet`}</Text>;
  const taskWidth = Math.min(24, Math.max(12, Math.floor(width / 6)));
  const workerOf = (error: ErrorRow) =>
    error.worker ?? (error.workerId >= 0 ? `w${error.workerId}` : "-");
  // A cluster worker's name (`host/n`) is longer than `w3`.
  const workerWidth = Math.min(16, Math.max(4, ...errors.map((e) => [...workerOf(e)].length + 1)));
  return (
    <>
      {errors.slice(0, maxRows).map((error, i) => (
        <Text key={i} wrap="truncate">
          <Text dimColor>{` ${clock(error.time)} `}</Text>
          <Text dimColor>{fit(workerOf(error), workerWidth)}</Text>
          <Text>{fit(error.task, taskWidth)}</Text>
          {/* A task's failure shows what it threw; a bare TaskError (a thrown string) a ✗. */}
          <Text color="red">{error.name === "TaskError" ? " ✗ " : ` ${error.name}: `}</Text>
          <Text>{oneLine(error.message)}</Text>
        </Text>
      ))}
    </>
  );
});

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
