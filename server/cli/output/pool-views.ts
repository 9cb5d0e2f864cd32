import type { PoolLicenseView, PoolView } from '../../../shared/protocol/rest.js';
import { POINT_KINDS } from '../../../shared/protocol/limits.js';
import { date, duration, list, percent } from './format.js';
import { renderFields, renderTable } from './table.js';

function poolState(p: PoolView): string {
  const states: string[] = [];
  if (!p.license) states.push('no license');
  else if (p.licenseExpired) states.push('LICENSE EXPIRED');
  if (p.overCommitted) states.push('OVER-COMMITTED');
  if (Math.max(p.utilization.tags, p.utilization.connections) >= p.alarmRaiseRatio) states.push('high use');
  return states.join(', ') || 'ok';
}

const heldOf = (p: PoolView, kind: 'tags' | 'connections'): string => `${p.held[kind]}/${p.limit[kind]} (${percent(p.utilization[kind])})`;

export function poolsTable(pools: readonly PoolView[]): string {
  if (pools.length === 0) return 'No pools yet. Create one with: floatlease pools create --name NAME';
  return renderTable(pools, [
    { header: 'NAME', value: (p) => p.name, max: 30 },
    { header: 'ID', value: (p) => p.id },
    { header: 'TAGS HELD', value: (p) => heldOf(p, 'tags'), align: 'right' },
    { header: 'CONNECTIONS HELD', value: (p) => heldOf(p, 'connections'), align: 'right' },
    { header: 'GATEWAYS', value: (p) => `${p.gateways.online}/${p.gateways.total} online`, align: 'right' },
    { header: 'LICENSE UNTIL', value: (p) => (p.license ? date(p.license.expiresAt) : '-') },
    { header: 'STATE', value: poolState },
  ]);
}

export function poolDetail(p: PoolView): string {
  const lic = p.license;
  const fields: [string, string][] = [
    ['Name', p.name],
    ['ID', p.id],
    ['Description', p.description || '-'],
    ['State', poolState(p)],
    ['Lease TTL', duration(p.leaseTtlSeconds)],
    ['Reclaim', p.reclaim === 'on-disconnect' ? `on-disconnect (after ${duration(p.disconnectGraceSeconds)})` : p.reclaim],
    ['Overdraft', p.overdraftFactor > 1 ? `x${p.overdraftFactor} (may hold up to ${percent(p.overdraftFactor)} of capacity)` : 'none'],
    ['Alarm', `raise at ${percent(p.alarmRaiseRatio)}, clear at ${percent(p.alarmClearRatio)}`],
    ['License', lic ? `${lic.licenseRef} for ${lic.customer} by ${lic.issuer}` : 'none (upload one: floatlease pools license POOL FILE)'],
    ...(lic ? ([['License valid', `${date(lic.issuedAt)} to ${date(lic.expiresAt)}${lic.expired ? '  EXPIRED: no new grants or renewals' : ''}`]] as [string, string][]) : []),
    ['Over-committed', p.overCommitted ? 'YES: no new points are granted until the pool fits its license' : 'no'],
    ['Plugins', list(p.plugins)],
    ['Gateways', `${p.gateways.total} (${p.gateways.online} online)`],
    ['Created', date(p.createdAt)],
  ];
  const kinds = renderTable(POINT_KINDS, [
    { header: 'POINTS', value: (k) => k },
    { header: 'CAPACITY', value: (k) => String(p.capacity[k]), align: 'right' },
    { header: 'LIMIT', value: (k) => String(p.limit[k]), align: 'right' },
    { header: 'ALLOCATED', value: (k) => String(p.allocated[k]), align: 'right' },
    { header: 'HELD', value: (k) => String(p.held[k]), align: 'right' },
    { header: 'PENDING', value: (k) => String(p.pending[k]), align: 'right' },
    { header: 'IN USE', value: (k) => String(p.inUse[k]), align: 'right' },
    { header: 'FREE', value: (k) => String(p.free[k]), align: 'right' },
    { header: 'UTILIZATION', value: (k) => percent(p.utilization[k]), align: 'right' },
  ]);
  return `${renderFields(fields)}\n\n${kinds}`;
}

export function licenseSummary(p: PoolView): string {
  const lic = p.license;
  if (!lic) return `Pool ${p.name} has no license.`;
  const lines = [
    `Pool ${p.name} now runs on license ${lic.licenseRef} (${lic.customer}): tags ${lic.points.tags}, connections ${lic.points.connections}, plugins ${list(lic.plugins)}; valid until ${date(lic.expiresAt)}.`,
  ];
  if (p.overCommitted) lines.push(`Pool ${p.name} is OVER-COMMITTED: it holds more than the new license allows; no new points are granted until it fits again.`);
  return lines.join('\n');
}

function licenseState(l: PoolLicenseView): string {
  const s = [l.replacedAt ? `replaced ${date(l.replacedAt)}` : 'current'];
  if (l.expired) s.push('expired');
  if (l.forced) s.push('forced');
  return s.join(', ');
}

export function licensesTable(items: readonly PoolLicenseView[]): string {
  if (items.length === 0) return 'No license was ever uploaded to this pool.';
  return renderTable(items, [
    { header: 'UPLOADED', value: (l) => date(l.uploadedAt) },
    { header: 'LICENSE', value: (l) => l.licenseRef, max: 36 },
    { header: 'CUSTOMER', value: (l) => l.customer, max: 24 },
    { header: 'ISSUER', value: (l) => l.issuer, max: 20 },
    { header: 'TAGS', value: (l) => String(l.points.tags), align: 'right' },
    { header: 'CONNECTIONS', value: (l) => String(l.points.connections), align: 'right' },
    { header: 'PLUGINS', value: (l) => list(l.plugins), max: 30 },
    { header: 'EXPIRES', value: (l) => date(l.expiresAt) },
    { header: 'BY', value: (l) => l.uploadedBy, max: 20 },
    { header: 'STATE', value: licenseState },
  ]);
}
