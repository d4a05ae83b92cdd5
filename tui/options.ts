/**
 * The dashboard's options, apart from the command line that parses them so that what runs
 * the dashboard needs no import of `main.ts`.
 *
 * @module
 */

/** The dashboard's command line, parsed. */
export interface TuiOptions {
  /** The monitor to attach to; absent for the demo. */
  connect?: string;
  /** Bearer token for `--connect`. */
  token?: string;
  /** Redraw interval, ms. */
  refresh: number;
  /** Demo only: also serve the demo pool's monitor on this port. */
  serve?: number;
}
