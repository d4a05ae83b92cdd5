/**
 * The shape of the house, checked: the apps (`cli/`, `tui/`) use the public entry points
 * only, the worker side imports only the wire layer (and small shared helpers), and no
 * source file grows past the size a reader takes in at once.
 *
 * Import specifiers are read from the source text (static `import`/`export … from`, bare
 * `import "…"` and `import("…")` with a literal), JSDoc examples included: an example that
 * reaches into `src/` teaches the same wrong path.
 */

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every `.ts`/`.tsx` file under `dir` (relative to the repository root), sorted. */
function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const child = join(path, entry.name);
      if (entry.isDirectory) walk(child);
      else if (/\.tsx?$/.test(entry.name)) found.push(child);
    }
  };
  walk(join(ROOT, dir));
  return found.sort();
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'\n]+)\1/g;

/** The import specifiers written in `source`. */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((match) => match[2]!);
}

/** The repository-relative path a relative specifier of `file` points to; `undefined` else. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return relative(ROOT, resolve(dirname(file), specifier)).replaceAll("\\", "/");
}

/** `file: specifier` for every import of a file under `dirs` that `allowed` refuses. */
function offending(dirs: readonly string[], allowed: (path: string) => boolean): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const file of sourceFiles(dir)) {
      for (const specifier of importSpecifiers(Deno.readTextFileSync(file))) {
        const path = target(file, specifier);
        if (path !== undefined && !allowed(path)) {
          found.push(`${relative(ROOT, file)}: ${specifier}`);
        }
      }
    }
  }
  return found;
}

Deno.test("house: the import reader sees static, bare and dynamic imports", () => {
  const source = [
    'import { a } from "../src/a.ts";',
    "import type { B } from '../src/b.ts';",
    'export { c } from "./c.ts";',
    'import "./side_effect.ts";',
    'const d = await import("../src/d.ts");',
    'const text = "from nowhere";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), [
    "../src/a.ts",
    "../src/b.ts",
    "./c.ts",
    "./side_effect.ts",
    "../src/d.ts",
  ]);
});

Deno.test("house: cli/ and tui/ import the public entry points, never src/", () => {
  const intoSrc = offending(["cli", "tui"], (path) => !path.startsWith("src/"));
  assert.deepEqual(intoSrc, [], "apps must import mod.ts, monitor.ts or cluster.ts instead");
});

/** `file:line` of every JSDoc example under `dirs` that runs but asserts nothing. */
function examplesWithoutAssert(paths: readonly string[]): string[] {
  const found: string[] = [];
  for (const path of paths) {
    const files = path.endsWith(".ts") ? [join(ROOT, path)] : sourceFiles(path);
    for (const file of files) {
      const source = Deno.readTextFileSync(file);
      for (const match of source.matchAll(/```(?:ts|tsx)([^\n]*)\n([\s\S]*?)```/g)) {
        const ignored = /\bignore\b/.test(match[1]!);
        if (!ignored && !/\bassert\b/.test(match[2]!)) {
          const line = source.slice(0, match.index).split("\n").length;
          found.push(`${relative(ROOT, file)}:${line}`);
        }
      }
    }
  }
  return found;
}

Deno.test("house: every JSDoc example that runs asserts something", () => {
  const silent = examplesWithoutAssert(["mod.ts", "monitor.ts", "src", "workers", "cli", "tui"]);
  assert.deepEqual(silent, [], "an example should check what it shows, not print it");
});

Deno.test("house: workers/ imports only the wire layer and small shared helpers of src/", () => {
  const allowed = (path: string) =>
    !path.startsWith("src/") || path.startsWith("src/wire/") || path.startsWith("src/util/");
  const outside = offending(["workers"], allowed);
  assert.deepEqual(outside, [], "a worker must not load the pool's core, transports or monitor");
});

/** The most lines a file of src/ or workers/ has: one a reader takes in at once. */
const MAX_LINES = 400;

Deno.test("house: no file of src/ or workers/ passes its size limit", () => {
  const tooLong: string[] = [];
  for (const file of [...sourceFiles("src"), ...sourceFiles("workers")]) {
    const path = relative(ROOT, file).replaceAll("\\", "/");
    const lines = Deno.readTextFileSync(file).split("\n").length - 1;
    if (lines > MAX_LINES) tooLong.push(`${path}: ${lines} lines (limit ${MAX_LINES})`);
  }
  assert.deepEqual(tooLong, [], "split the file along a real seam");
});
