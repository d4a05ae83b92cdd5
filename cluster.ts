/**
 * The same `Pool` on many machines: worker hosts over NATS JetStream. Under construction.
 *
 * @module
 */

/** The cluster entry point's version of its wire format. */
export const CLUSTER_PROTOCOL = 1;
