/**
 * Where the dashboard's state lives between frames: sources dispatch into it as messages
 * arrive, and the screen reads it once per refresh. Keeping the two apart means a busy pool
 * costs one reducer call per batch, not one frame.
 *
 * @module
 */

import {
  type ConnectionView,
  type DashboardAction,
  type DashboardState,
  initialState,
  reduce,
} from "./model.ts";

/** The dashboard's current state, and a version that changes with it. */
export class DashboardStore {
  #state: DashboardState;
  #version = 0;

  /** Starts from the empty state with the given connection. */
  constructor(connection: ConnectionView) {
    this.#state = initialState(connection);
  }

  /** Folds one action into the state. */
  readonly dispatch = (action: DashboardAction): void => {
    this.#state = reduce(this.#state, action);
    this.#version++;
  };

  /** The current state. */
  get state(): DashboardState {
    return this.#state;
  }

  /** Increases with every dispatch, so a reader can skip frames when nothing changed. */
  get version(): number {
    return this.#version;
  }
}
