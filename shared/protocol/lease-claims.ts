import { z } from 'zod';
import { pointsSchema } from './limits.js';

export const LEASE_AUDIENCE = 'floatlease-agent';
/** JWS `typ` header of a lease; keeps a lease from being mistaken for any other signed document. */
export const LEASE_TYP = 'floatlease-lease+jwt';

/** Base64 of a 32-byte digest: 43 characters, the last one carrying 2 spare zero bits, and one `=`. */
export const HARDWARE_ID_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
export const hardwareIdSchema = z.string().regex(HARDWARE_ID_PATTERN, 'must be a base64 SHA-256 digest (44 characters)');

const epochSeconds = z.int().nonnegative();

/** The payload of a lease (F3). Unknown claims are dropped, so later additions stay compatible. */
export const leaseClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: z.uuid(),
    aud: z.string().min(1),
    jti: z.uuid(),
    iat: epochSeconds,
    nbf: epochSeconds,
    exp: epochSeconds,
    seq: z.int().positive(),
    pool: z.uuid(),
    hwid: hardwareIdSchema,
    points: pointsSchema,
    plugins: z.array(z.string().min(1)),
    licenseExpiresAt: epochSeconds,
    /** The pool license's issue date and customer (shown as NeuronEX shows its license). */
    licenseIssuedAt: epochSeconds.optional(),
    customer: z.string().max(200).optional(),
    ttl: z.int().positive(),
    /**
     * Pools with `reclaim: on-disconnect` (F2): after this long unable to reach the controller
     * (monotonic clock) the agent stops using the lease's points. Absent: the lease holds until exp.
     */
    disconnectGraceSec: z.int().positive().optional(),
    /**
     * An offline license file (the borrowing lease class): issued by an operator for this hardware
     * with a longer lifetime, loaded at the device, its points held in the pool until exp.
     */
    offline: z.literal(true).optional(),
    /**
     * An offline borrow (issue 21): asked by the agent for a planned disconnect; the points it held,
     * for up to the pool's longest borrow, no disconnect grace. A later lease it acknowledges returns it.
     */
    borrow: z.literal(true).optional(),
  })
  .refine((c) => c.exp > c.nbf, { message: 'exp must be after nbf', path: ['exp'] });
export type LeaseClaims = z.infer<typeof leaseClaimsSchema>;
