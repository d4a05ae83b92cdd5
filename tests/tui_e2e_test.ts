/**
 * The real `deno task tui`, in a real terminal (tmux): it draws workers, throughput and an
 * error, follows a resize, and quits cleanly on `q`, restoring the screen.
 */

import assert from "node:assert/strict";
import { eventually } from "./_monitor_helpers.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const TMUX = ["/usr/bin/tmux", "/usr/local/bin/tmux"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** Runs tmux on a private server socket so nothing else's sessions are touched. */
async function tmux(socket: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command(TMUX!, {
    args: ["-L", socket, "-f", "/dev/null", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

Deno.test({
  name: "deno task tui draws workers, throughput and errors in a terminal and quits on q",
  ignore: TMUX === undefined,
  async fn() {
    const socket = `seed-tui-e2e-${Deno.pid}`;
    const session = "tui";
    await tmux(
      socket,
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "80",
      "-y",
      "24",
      "-c",
      ROOT,
      `${Deno.execPath()} task tui`,
      ";",
      "set-option",
      "-t",
      session,
      "remain-on-exit",
      "on",
    );
    const capture = () => tmux(socket, "capture-pane", "-p", "-t", session);
    const paneState = async () =>
      (await tmux(
        socket,
        "display-message",
        "-p",
        "-t",
        session,
        "#{pane_dead} #{pane_dead_status}",
      ))
        .trim();
    try {
      const screen = await eventually(
        async () => {
          const text = await capture();
          const workers = text.match(/^ +\d+ (busy|idle|starting) +\S+/gm) ?? [];
          const ok = /seed pool · demo/.test(text) &&
            workers.length >= 2 &&
            /─ throughput +\d[\d.]* tasks\/s/.test(text) &&
            /^ +\S+\/s .*[▁▂▃▄▅▆▇█]/m.test(text) && // a sparkline with a scale
            /^ \d\d:\d\d:\d\d w\d+ +(readSecret|parseReading) +✗ /m.test(text);
          return ok && text;
        },
        "the dashboard to show workers, throughput and an error",
        60_000,
      );
      const lines = screen.split("\n");
      assert.ok(lines.every((line) => [...line].length <= 80));

      // A wider terminal gets a wider frame.
      await tmux(socket, "resize-window", "-t", session, "-x", "120", "-y", "30");
      await eventually(
        async () => {
          const text = await capture();
          return text.split("\n").some((line) => [...line].length > 100) &&
            /history \((\d+)s\)/.exec(text)?.[1] !== "20";
        },
        "the frame to follow the resize",
        20_000,
      );

      await tmux(socket, "send-keys", "-t", session, "q");
      const state = await eventually(
        async () => {
          const [dead, status] = (await paneState()).split(" ");
          return dead === "1" && status;
        },
        "the dashboard to exit",
        20_000,
      );
      assert.equal(state, "0", "the dashboard exited with a failure status");
      // The alternate screen is gone: the terminal shows what it showed before.
      assert.doesNotMatch(await capture(), /seed pool · demo/);
    } finally {
      await tmux(socket, "kill-server").catch(() => {});
    }
  },
});
