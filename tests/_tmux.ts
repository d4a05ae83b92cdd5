/** A real terminal for the dashboard's tests: tmux, on a private socket. */

export const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
export const TMUX: string | undefined = ["/usr/bin/tmux", "/usr/local/bin/tmux"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});
export const SESSION = "tui";

/** A tmux server of its own (a private socket), so no one else's sessions are touched. */
export class Terminal implements AsyncDisposable {
  readonly socket = `seed-tui-e2e-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const output = await new Deno.Command(TMUX!, {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout);
  }

  /** Starts `command` in an 80×24 terminal; the pane stays readable after it exits. */
  async start(command: string): Promise<void> {
    await this.run(
      "new-session",
      "-d",
      "-s",
      SESSION,
      "-x",
      "80",
      "-y",
      "24",
      "-c",
      ROOT,
      command,
      ";",
      "set-option",
      "-t",
      SESSION,
      "remain-on-exit",
      "on",
    );
  }

  capture(): Promise<string> {
    return this.run("capture-pane", "-p", "-t", SESSION);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}
