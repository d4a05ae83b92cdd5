/** The hostile task outcomes tests/bad_input_test.ts runs in both isolations. */
import { TaskError } from "../mod.ts";

type ErrorClass = typeof TaskError | typeof TypeError;

/**
 * Hostile values a task may return or throw, each with the error the caller must get: the
 * same in both isolations, and never from a dead worker. Each task is self-contained: it is
 * sent to the worker as source.
 */
export const HOSTILE: readonly {
  name: string;
  task: () => unknown;
  expected: [ErrorClass, RegExp];
}[] = [
  {
    name: "a thenable whose then() throws",
    task: () => ({
      then() {
        throw new Error("then failed");
      },
    }),
    expected: [TaskError, /^then failed$/],
  },
  {
    name: "a thenable whose then() throws null",
    task: () => ({
      then() {
        throw null;
      },
    }),
    expected: [TaskError, /^Task threw a non-Error value: null$/],
  },
  {
    name: "an object whose then getter throws",
    task: () => ({
      get then() {
        throw new Error("then getter failed");
      },
    }),
    expected: [TaskError, /^then getter failed$/],
  },
  {
    name: "a revoked Proxy",
    task: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
    expected: [TaskError, /proxy that has been revoked/],
  },
  {
    name: "a result whose getter throws null",
    task: () => ({
      get x() {
        throw null;
      },
    }),
    expected: [
      TypeError,
      /^Cannot send the task's result as it cannot be structured-cloned: null$/,
    ],
  },
  {
    name: "a thrown error whose message getter throws",
    task: () => {
      const error = new Error("unread");
      Object.defineProperty(error, "message", {
        get() {
          throw new Error("message getter failed");
        },
      });
      throw error;
    },
    expected: [
      TaskError,
      /^Task threw an Error whose 'message' cannot be read: message getter failed$/,
    ],
  },
  {
    name: "a rejection with an error whose message getter throws",
    task: () => {
      const error = new RangeError("unread");
      Object.defineProperty(error, "message", {
        get() {
          throw new Error("message getter failed");
        },
      });
      return Promise.reject(error);
    },
    expected: [TaskError, /^Task threw a RangeError whose 'message' cannot be read/],
  },
  {
    name: "a thrown error whose name getter throws",
    task: () => {
      const error = new Error("name unread");
      Object.defineProperty(error, "name", {
        get() {
          throw new Error("getter failed");
        },
      });
      throw error;
    },
    expected: [TaskError, /^name unread$/],
  },
  {
    name: "a thrown error whose stack getter throws",
    task: () => {
      const error = new Error("stack unread");
      Object.defineProperty(error, "stack", {
        get() {
          throw new Error("getter failed");
        },
      });
      throw error;
    },
    expected: [TaskError, /^stack unread$/],
  },
  {
    name: "a thrown error whose name's toString throws",
    task: () => {
      const error = new Error("odd name");
      const name = {
        toString() {
          throw new Error("toString failed");
        },
      };
      Object.defineProperty(error, "name", { value: name });
      throw error;
    },
    expected: [TaskError, /^odd name$/],
  },
  {
    name: "a thrown object whose toString throws",
    task: () => {
      throw {
        toString() {
          throw new Error("toString failed");
        },
      };
    },
    expected: [TaskError, /^Task threw a value that cannot be cloned/],
  },
  {
    name: "a thrown revoked Proxy",
    task: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      throw proxy;
    },
    expected: [
      TaskError,
      /^Task threw a value that cannot be cloned: an object that cannot be read$/,
    ],
  },
];
