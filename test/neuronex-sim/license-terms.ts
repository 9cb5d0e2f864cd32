import { z } from 'zod';

/** NeuronEX's `licenseType` values; "OFFCIAL" is spelled as NeuronEX spells it. */
export type LicenseType = 'TRIAL' | 'OFFCIAL' | 'VIRTUAL';

export interface LicenseTerms {
  type: LicenseType;
  maxTags: number;
  maxNodes: number;
  /** Commercial plugins the license enables; open-source plugins never need one. */
  enabledPlugins: string[];
  startDate: Date;
  expiredDate: Date;
  customerName: string;
  customerContact: string;
  officialEmail: string;
}

/** NeuronEX's free allowance: 30 tags and 30 connections, no commercial plugins, no end. */
export const FREE_ALLOWANCE = Object.freeze({ maxTags: 30, maxNodes: 30 });
export const NEVER_EXPIRES = new Date(Date.UTC(2099, 11, 31, 23, 59, 59));

// Real licenses are signed protobuf/X.509 blobs with an unpublished scheme, so the simulator
// accepts its own document: base64 JSON, or a compact JWS whose payload it reads unverified.
const licenseDocumentSchema = z.object({
  totalTagCount: z.int().nonnegative().optional(),
  maxNodes: z.int().nonnegative().optional(),
  enabledPlugins: z.array(z.string()).optional(),
  startDate: z.string().optional(),
  expiredDate: z.string().optional(),
  customerName: z.string().optional(),
  customerContact: z.string().optional(),
  officialEmail: z.string().optional(),
  // Lease-shaped claims, so a floatlease lease can be delivered as it is.
  points: z.object({ tags: z.int().nonnegative(), connections: z.int().nonnegative() }).optional(),
  plugins: z.array(z.string()).optional(),
  nbf: z.number().optional(),
  iat: z.number().optional(),
  exp: z.number().optional(),
});
export type SimLicenseDocument = z.input<typeof licenseDocumentSchema>;

/** Encodes a license document the simulator accepts on its license routes. */
export function encodeSimLicense(doc: SimLicenseDocument): string {
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
}

/** "YYYY-MM-DD hh:mm:ss" in UTC, NeuronEX's license date format. */
export function formatLicenseDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function parseLicenseDate(s: string): Date | undefined {
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(s) ? `${s.replace(' ', 'T')}Z` : s;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function decodePayload(blob: string): unknown {
  const parts = blob.split('.');
  const text =
    parts.length === 3 ? Buffer.from(parts[1] ?? '', 'base64url').toString('utf8') : Buffer.from(blob, 'base64').toString('utf8');
  return JSON.parse(text);
}

const MAX_LICENSE_CHARS = 15_000;

/** Reads a license blob; undefined when it is not a license the simulator understands. */
export function decodeSimLicense(
  blob: string,
  type: LicenseType,
  defaults: { maxNodes: number; now: Date },
): LicenseTerms | undefined {
  if (blob.length === 0 || blob.length > MAX_LICENSE_CHARS) return undefined;
  let raw: unknown;
  try {
    raw = decodePayload(blob.trim());
  } catch {
    return undefined;
  }
  const parsed = licenseDocumentSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const doc = parsed.data;
  const maxTags = doc.totalTagCount ?? doc.points?.tags;
  if (maxTags === undefined) return undefined;
  const epoch = (s: number | undefined): Date | undefined => (s === undefined ? undefined : new Date(s * 1000));
  const start = doc.startDate !== undefined ? parseLicenseDate(doc.startDate) : (epoch(doc.nbf ?? doc.iat) ?? defaults.now);
  const end = doc.expiredDate !== undefined ? parseLicenseDate(doc.expiredDate) : (epoch(doc.exp) ?? NEVER_EXPIRES);
  if (start === undefined || end === undefined) return undefined;
  return {
    type,
    maxTags,
    maxNodes: doc.maxNodes ?? doc.points?.connections ?? defaults.maxNodes,
    enabledPlugins: [...(doc.enabledPlugins ?? doc.plugins ?? [])],
    startDate: start,
    expiredDate: end,
    customerName: doc.customerName ?? '',
    customerContact: doc.customerContact ?? '',
    officialEmail: doc.officialEmail ?? '',
  };
}
