import type { ActivationCodeView } from '../../../shared/protocol/rest.js';
import { date } from './format.js';
import { renderTable } from './table.js';

function codeState(c: ActivationCodeView, now = Date.now()): string {
  if (c.revokedAt) return `revoked ${date(c.revokedAt)}`;
  if (c.expiresAt && Date.parse(c.expiresAt) <= now) return 'expired';
  if (c.seatsUsed >= c.seats) return 'all seats used';
  return 'active';
}

export function codesTable(codes: readonly ActivationCodeView[], poolNames?: ReadonlyMap<string, string>): string {
  if (codes.length === 0) return `No activation codes${poolNames ? '' : ' for this pool'}. Create one with: floatlease codes create POOL --seats N`;
  return renderTable(codes, [
    ...(poolNames ? [{ header: 'POOL', value: (c: ActivationCodeView) => poolNames.get(c.poolId) ?? c.poolId, max: 20 }] : []),
    { header: 'ID', value: (c) => c.id },
    { header: 'CODE', value: (c) => `${c.codePrefix}…` },
    { header: 'LABEL', value: (c) => c.label || '-', max: 30 },
    { header: 'SEATS USED', value: (c) => `${c.seatsUsed}/${c.seats}`, align: 'right' },
    { header: 'EXPIRES', value: (c) => (c.expiresAt ? date(c.expiresAt) : 'never') },
    { header: 'CREATED', value: (c) => date(c.createdAt) },
    { header: 'BY', value: (c) => c.createdBy, max: 20 },
    { header: 'STATE', value: (c) => codeState(c) },
  ]);
}
