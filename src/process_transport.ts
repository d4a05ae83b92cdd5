// TEMPORARY STUB (lead): replaced by the process isolation work of issue 3.
import type { TransportFactory } from "./transport.ts";
/** A Deno subprocess per worker. */
export const processTransport: TransportFactory = () => {
  throw new Error("process isolation is not implemented yet");
};
