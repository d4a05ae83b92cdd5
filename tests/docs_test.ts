/**
 * The README and docs/ stay a front door with working links: every relative link in README.md,
 * docs/*.md and examples/README.md leads to a file that exists, and every `#anchor` to a heading
 * of that file (GitHub's slugs); the README stays short.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = new URL("../", import.meta.url);

/** The README's ceiling: the front door is about 200 lines, the rest lives in docs/. */
const README_MAX_LINES = 260;

/**
 * Pages that another branch writes (issue 11: the architecture notes). A link to one is
 * checked once the page exists; until then its absence is not a broken link. Empty this set
 * when the page has landed.
 */
const WRITTEN_ELSEWHERE = new Set<string>();

/** A link found in a Markdown file: its target as written and the line it is on. */
interface Link {
  readonly target: string;
  readonly line: number;
}

/** Lines of `markdown` outside fenced code blocks, with their 1-based line numbers. */
function proseLines(markdown: string): { text: string; line: number }[] {
  const lines: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split("\n").forEach((text, index) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && opening !== undefined) fence = opening;
    else if (fence !== undefined && text.trim().startsWith(fence)) fence = undefined;
    else if (fence === undefined) lines.push({ text, line: index + 1 });
  });
  return lines;
}

/** Removes code spans (`` `a` ``, ``` ``a`b`` ```): a link written inside one is not a link. */
function withoutCodeSpans(text: string): string {
  return text.replace(/(`+)(?:(?!\1).)+?\1/g, "");
}

/** The inline links, images and reference definitions of `markdown`, outside code. */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const { text, line } of proseLines(markdown)) {
    const prose = withoutCodeSpans(text);
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ target: match[1]!, line });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)/.exec(prose);
    if (definition) links.push({ target: definition[1]!, line });
  }
  return links;
}

/**
 * GitHub's anchor for a heading: the rendered text (markup removed), lower-cased, with
 * everything but letters, digits, `_`, `-` and spaces dropped and each space made a `-`.
 */
export function slugOf(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link shows its text
    .replace(/`/g, "")
    .replace(/\*+/g, "")
    .replace(/(^|[\s(])_+(\S(?:.*?\S)?)_+(?=$|[\s).,:;!?])/g, "$1$2"); // _emphasis_
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(
    / /g,
    "-",
  );
}

/** The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` for repeats. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const slug = slugOf(heading);
    const repeats = seen.get(slug) ?? 0;
    seen.set(slug, repeats + 1);
    anchors.add(repeats === 0 ? slug : `${slug}-${repeats}`);
  }
  return anchors;
}

/** The pages whose links are checked, as paths from the repository root. */
async function documentationPages(): Promise<string[]> {
  const pages = ["README.md", "examples/README.md"];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) pages.push(`docs/${entry.name}`);
  }
  return pages.sort();
}

/** Whether `url` names an existing file or folder. */
async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Every broken relative link of the page at `page` (a path from the repository root), each
 * described as `page:line: target (why)`.
 */
async function brokenLinks(page: string): Promise<string[]> {
  const pageUrl = new URL(page, ROOT);
  const broken: string[] = [];
  for (const { target, line } of linksOf(await Deno.readTextFile(pageUrl))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, jsr:: not relative
    const [path = "", anchor] = target.split("#", 2);
    const targetUrl = path === "" ? pageUrl : new URL(path, pageUrl);
    const fromRoot = fileURLToPath(targetUrl).slice(fileURLToPath(ROOT).length);
    if (!await exists(targetUrl)) {
      if (!WRITTEN_ELSEWHERE.has(fromRoot)) {
        broken.push(`${page}:${line}: ${target} (no such file)`);
      }
      continue;
    }
    if (anchor === undefined || !fromRoot.endsWith(".md")) continue;
    const anchors = anchorsOf(await Deno.readTextFile(targetUrl));
    if (!anchors.has(decodeURIComponent(anchor))) {
      broken.push(`${page}:${line}: ${target} (no heading '#${anchor}' in ${fromRoot})`);
    }
  }
  return broken;
}

Deno.test("README.md, docs/ and examples/README.md have no broken relative link", async () => {
  const pages = await documentationPages();
  assert.ok(pages.includes("docs/performance.md"), `docs/ is missing pages: ${pages.join(" ")}`);
  const broken = (await Promise.all(pages.map(brokenLinks))).flat();
  assert.deepEqual(broken, [], `broken links:\n${broken.join("\n")}`);
});

Deno.test(`README.md stays under ${README_MAX_LINES} lines: the rest belongs in docs/`, async () => {
  const lines = (await Deno.readTextFile(new URL("README.md", ROOT))).trimEnd().split("\n");
  assert.ok(lines.length < README_MAX_LINES, `README.md has ${lines.length} lines`);
});

Deno.test("slugOf() makes GitHub's anchors, markup and punctuation dropped", () => {
  assert.equal(slugOf("W7: the scheduling promise"), "w7-the-scheduling-promise");
  assert.equal(
    slugOf("What a scope does _not_ stop (Deno 2.9.6, tested)"),
    "what-a-scope-does-not-stop-deno-296-tested",
  );
  assert.equal(
    slugOf("`pool apply <module> <export> [JSON args…]`"),
    "pool-apply-module-export-json-args",
  );
  assert.equal(
    slugOf("How seed pool differs from Python, and why"),
    "how-seed-pool-differs-from-python-and-why",
  );
  assert.equal(slugOf("max_old_space"), "max_old_space");
});

Deno.test("linksOf() and anchorsOf() see links and headings outside code only", () => {
  const page = [
    "# Title",
    "See [a](a.md#x), ![b](b.png) and `[not](a link)`.",
    "```md",
    "[not a link](nowhere.md)",
    "# not a heading",
    "```",
    "## Title",
    "[ref]: docs/ref.md",
  ].join("\n");
  assert.deepEqual(linksOf(page), [
    { target: "a.md#x", line: 2 },
    { target: "b.png", line: 2 },
    { target: "docs/ref.md", line: 8 },
  ]);
  assert.deepEqual([...anchorsOf(page)], ["title", "title-1"]);
});
