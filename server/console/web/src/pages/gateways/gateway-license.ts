import type { GatewayView } from '../../api/types.js';

/**
 * The NeuronEX license view of a gateway, as its agent shows it at /api/license (same rule: a live,
 * non-empty lease is floating, which NeuronEX calls a VIRTUAL license; Issued At / Expire At are the
 * pool license's, which the lease carries).
 */
export interface LicenseFields {
  readonly licenseType: 'VIRTUAL' | 'TRIAL';
  /** floatlease's own name for it. */
  readonly mode: 'FLOATING' | 'TRIAL';
  /** UTC "YYYY-MM-DD hh:mm:ss", or "" without a lease. */
  readonly startDate: string;
  readonly expiredDate: string;
  readonly totalTagCount: number;
  readonly usedTagCount: number;
  readonly maxConnections: number;
  readonly usedConnections: number;
  readonly enabledPlugins: readonly string[];
  readonly hardwareToken: string;
}

const neuronDate = (iso: string | undefined): string => (iso ? new Date(iso).toISOString().slice(0, 19).replace('T', ' ') : '');

export function licenseFields(
  g: GatewayView,
  trial: { tags: number; connections: number },
  elapsedSec = 0,
  poolLicense?: { readonly issuedAt: string; readonly expiresAt: string } | null,
): LicenseFields {
  const l = g.lease;
  const live = l !== null && (l.state === 'issued' || l.state === 'acknowledged') && l.secondsLeft - elapsedSec > 0;
  const granted = live && (l.points.tags > 0 || l.points.connections > 0 || l.plugins.length > 0);
  return {
    licenseType: granted ? 'VIRTUAL' : 'TRIAL',
    mode: granted ? 'FLOATING' : 'TRIAL',
    startDate: granted ? neuronDate(poolLicense?.issuedAt) : '',
    expiredDate: granted ? neuronDate(poolLicense?.expiresAt) : '',
    totalTagCount: granted ? l.points.tags : trial.tags,
    usedTagCount: g.usage?.tags ?? 0,
    maxConnections: granted ? l.points.connections : trial.connections,
    usedConnections: g.usage?.connections ?? 0,
    enabledPlugins: granted ? l.plugins : [],
    hardwareToken: g.hardwareId,
  };
}
