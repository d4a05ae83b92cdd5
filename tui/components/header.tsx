/** @jsxImportSourceTypes @types/react */
/**
 * The top two lines: which pool, how it is doing overall, and where the data comes from.
 *
 * @module
 */

import { Box, Text } from "ink";
import type { ConnectionView, PoolView } from "../model.ts";
import { count, duration, percent, rate } from "../format.ts";

/** Props of `Header`. */
export interface HeaderProps {
  readonly pool: PoolView | null;
  readonly connection: ConnectionView;
  readonly width: number;
  /** The local clock, for the reconnect countdown. */
  readonly now: number;
}

/** Pool name, size, isolation, uptime and state; then the totals and rates; connection at right. */
export function Header({ pool, connection, width, now }: HeaderProps) {
  return (
    <Box flexDirection="column" width={width}>
      <Box width={width}>
        {/* The connection badge keeps its room; the pool's description gives way. */}
        <Box flexGrow={1} flexShrink={1} overflow="hidden">
          <Text wrap="truncate">
            <Text bold color="cyan">seed pool</Text>
            {pool
              ? (
                <>
                  <Text bold>{` · ${pool.name}`}</Text>
                  <Text dimColor>
                    {`  ${pool.size} workers · ${pool.isolation} isolation · up ${
                      duration(pool.uptimeMs)
                    }`}
                  </Text>
                  {pool.state === "running"
                    ? null
                    : <Text color="yellow">{` · ${pool.state}`}</Text>}
                </>
              )
              : null}
          </Text>
        </Box>
        <Box flexShrink={0}>
          <Text>
            {" "}
            <ConnectionBadge connection={connection} now={now} />
          </Text>
        </Box>
      </Box>
      {pool
        ? (
          <Text wrap="truncate">
            <Text dimColor>done</Text> <Text color="green">{count(pool.completed)}</Text>{"  "}
            <Text dimColor>failed</Text>{" "}
            <Text color={pool.failed > 0 ? "red" : "green"}>{count(pool.failed)}</Text>{"  "}
            <Text dimColor>cancelled</Text>{" "}
            <Text color={pool.cancelled > 0 ? "yellow" : "green"}>
              {count(pool.cancelled)}
            </Text>{"  "}
            <Text dimColor>tasks/s</Text> <Text bold>{rate(pool.throughput)}</Text>{"  "}
            <Text dimColor>queue</Text> <Text bold>{count(pool.queued)}</Text>{"  "}
            <Text dimColor>running</Text> <Text>{count(pool.running)}</Text>{"  "}
            <Text dimColor>util</Text> <Text>{percent(pool.utilization)}</Text>
          </Text>
        )
        : <Text dimColor wrap="truncate">waiting for the first snapshot…</Text>}
    </Box>
  );
}

/** Props of `ConnectionBadge`. */
export interface ConnectionBadgeProps {
  readonly connection: ConnectionView;
  readonly now: number;
}

/**
 * `● local demo`, `● connected`, `○ connecting…`, or why it is disconnected:
 * `✗ connection refused at http://127.0.0.1:9/ (is the monitor running?), retrying in 2s`.
 */
export function ConnectionBadge({ connection, now }: ConnectionBadgeProps) {
  switch (connection.status) {
    case "local":
      return <Text color="green">● local {connection.source}</Text>;
    case "connected":
      return <Text color="green">● connected</Text>;
    case "connecting":
      return <Text color="yellow">○ connecting…</Text>;
    case "disconnected": {
      const wait = Math.max(0, (connection.retryAt ?? now) - now);
      return (
        <Text color="red">
          ✗ {connection.message ?? "disconnected"}, retrying{wait >= 1000
            ? ` in ${Math.ceil(wait / 1000)}s`
            : "…"}
        </Text>
      );
    }
  }
}
