import { z } from 'zod';
import { problemNames } from './problem.js';
import { leaseGrant, usageReportBody } from './rest.js';

/**
 * What agents and the controller say to each other, whatever the transport (MQTT, Socket.IO, HTTP).
 * Every payload is parsed with these schemas on receipt; a malformed one is dropped with a reason.
 */
export const helloMessage = z.strictObject({
  agentVersion: z.string().max(50),
  usage: usageReportBody.optional(),
});
export type HelloMessage = z.infer<typeof helloMessage>;

export const renewMessage = z.strictObject({ seq: z.int().nonnegative().optional() });
export const ackMessage = z.strictObject({ jti: z.uuid() });
export const usageMessage = usageReportBody;
export const releaseMessage = z.strictObject({ reason: z.string().max(200).optional() });
export const presenceMessage = z.strictObject({ online: z.boolean(), at: z.int().optional() });

/** Controller → agent: send your hello again (the hello round at a controller's start). */
export const helloRequestMessage = z.strictObject({ round: z.string().max(100) });

export const leaseMessage = leaseGrant;
export type LeaseMessage = z.infer<typeof leaseMessage>;

/** The controller could not serve a request (e.g. the pool license expired): the agent keeps its lease. */
export const agentErrorMessage = z.strictObject({ name: z.enum(problemNames), detail: z.string().max(1000) });
export type AgentErrorMessage = z.infer<typeof agentErrorMessage>;

export const upstreamKinds = ['hello', 'renew', 'ack', 'usage', 'release'] as const;
export type UpstreamKind = (typeof upstreamKinds)[number];

export const upstreamSchemas = {
  hello: helloMessage,
  renew: renewMessage,
  ack: ackMessage,
  usage: usageMessage,
  release: releaseMessage,
} as const satisfies Record<UpstreamKind, z.ZodType>;

export type UpstreamPayload<K extends UpstreamKind> = z.infer<(typeof upstreamSchemas)[K]>;
