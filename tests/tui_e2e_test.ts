/**
 * The real `deno task tui`, in a real terminal (tmux): it draws workers, throughput and an
 * error, quits cleanly on `q` restoring the screen, and follows a resize.
 */

import assert from "node:assert/strict";
import { eventually } from "./_monitor_helpers.ts";
import { ROOT, SESSION, Terminal, TMUX } from "./_tmux.ts";

/** The dashboard's frame once it shows two worker rows, throughput and an error. */
function dashboardShown(text: string): string | false {
  const workers = text.match(/^ +\d+ (busy|idle|starting) +\S+/gm) ?? [];
  const ok = /seed pool · demo/.test(text) &&
    workers.length >= 2 &&
    /─ throughput +\d[\d.]* tasks\/s/.test(text) &&
    /^ +\S+\/s .*[▁▂▃▄▅▆▇█]/m.test(text) && // a sparkline with its scale
    /^ \d\d:\d\d:\d\d w\d+ +(readSecret|parseReading) +(NotCapable|SyntaxError): /m.test(text);
  return ok && text;
}

Deno.test({
  name: "deno task tui draws workers, throughput and errors, and quits cleanly on q",
  ignore: TMUX === undefined,
  async fn() {
    await using terminal = new Terminal();
    const status = await Deno.makeTempFile({ prefix: "seed-tui-e2e-" });
    try {
      await terminal.start(`sh -c '"${Deno.execPath()}" task tui; echo "$?" > "${status}"'`);
      const screen = await eventually(
        async () => dashboardShown(await terminal.capture()),
        "the dashboard to show workers, throughput and an error",
        60_000,
      );
      for (const line of screen.split("\n")) {
        assert.ok([...line].length <= 80, `wider than the terminal: ${line}`);
      }

      await terminal.run("send-keys", "-t", SESSION, "q");
      const code = await eventually(
        async () => (await Deno.readTextFile(status)).trim(),
        "the dashboard to exit",
        20_000,
      );
      assert.equal(code, "0");
      // Back on the primary screen: the alternate screen, and the dashboard on it, are gone.
      assert.doesNotMatch(await terminal.capture(), /seed pool|─ workers|latency/);
    } finally {
      await Deno.remove(status);
    }
  },
});

Deno.test({
  name: "deno task tui redraws to the terminal's new size",
  ignore: TMUX === undefined,
  async fn() {
    await using terminal = new Terminal();
    await terminal.start(`"${Deno.execPath()}" task tui`);
    await eventually(
      async () => dashboardShown(await terminal.capture()),
      "the dashboard to show",
      60_000,
    );
    await terminal.run("resize-window", "-t", SESSION, "-x", "120", "-y", "30");
    await eventually(
      async () => {
        const text = await terminal.capture();
        return text.split("\n").some((line) => [...line].length > 100) &&
          /history \((\d+)s\)/.exec(text)?.[1] !== "20";
      },
      "the frame to follow the resize",
      20_000,
    );
  },
});

Deno.test("deno task tui --help explains the demo and --connect", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tui/main.ts", "--help"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0);
  assert.match(text, /built-in demo/);
  assert.match(text, /--connect <url>/);
  assert.match(text, /serveMonitor\(pool\)/);
  assert.match(text, /--refresh <ms>/);
});
