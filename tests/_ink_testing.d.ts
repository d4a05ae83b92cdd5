// The part of ink-testing-library's API these tests use. Its own declarations reference
// npm's @types/node, whose Buffer clashes with Deno's node types elsewhere in the test
// program, so the tests import it with these instead.
import type { ReactElement } from "react";

/** A rendered tree. */
export interface Instance {
  rerender(tree: ReactElement): void;
  unmount(): void;
  cleanup(): void;
  lastFrame(): string | undefined;
  readonly frames: string[];
  readonly stdin: { write(data: string): void };
}

/** Renders `tree` into an in-memory terminal 100 columns wide. */
export function render(tree: ReactElement): Instance;
/** Unmounts every rendered tree. */
export function cleanup(): void;
