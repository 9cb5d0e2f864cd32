import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import type { GatewayView } from '../../../shared/protocol/rest.js';
import { ago, date, duration, list, usage } from './format.js';
import { renderFields, renderTable } from './table.js';

const presence = (g: GatewayView): string =>
  g.decommissionedAt ? `decommissioned ${date(g.decommissionedAt)}` : g.online ? `online${g.transport ? ` (${g.transport})` : ''}` : 'offline';
const leaseLeft = (g: GatewayView): string => (g.lease && g.lease.secondsLeft > 0 ? `${duration(g.lease.secondsLeft)} left` : 'none');

/** Usage against allocation per kind, e.g. `45/100 (45%)`; `-` when the agent has not reported yet. */
export function gatewaysTable(items: readonly GatewayView[], poolNames?: ReadonlyMap<string, string>): string {
  return renderTable(items, [
    { header: 'NAME', value: (g) => g.name, max: 28 },
    { header: 'ID', value: (g) => g.id },
    ...(poolNames ? [{ header: 'POOL', value: (g: GatewayView) => poolNames.get(g.poolId) ?? g.poolId, max: 20 }] : []),
    { header: 'STATE', value: presence },
    { header: 'TAGS USED', value: (g) => usage(g.usage?.tags, g.allocation.tags), align: 'right' },
    { header: 'CONNECTIONS USED', value: (g) => usage(g.usage?.connections, g.allocation.connections), align: 'right' },
    { header: 'PLUGINS', value: (g) => list(g.allocation.plugins), max: 24 },
    { header: 'LEASE', value: leaseLeft },
    { header: 'LAST SEEN', value: (g) => ago(g.lastSeenAt) },
  ]);
}

export function gatewayDetail(g: GatewayView, poolName?: string): string {
  const held = g.held.tags > g.allocation.tags || g.held.connections > g.allocation.connections;
  const fields: [string, string][] = [
    ['Name', g.name],
    ['ID', g.id],
    ['Pool', poolName ? `${poolName} (${g.poolId})` : g.poolId],
    ['Hardware ID', g.hardwareId],
    ['State', g.presenceChangedAt && !g.decommissionedAt ? `${presence(g)} since ${date(g.presenceChangedAt)}` : presence(g)],
    ['Last seen', ago(g.lastSeenAt)],
    ['Enrolled', date(g.enrolledAt)],
    ['Allocation', `tags ${g.allocation.tags}, connections ${g.allocation.connections}, plugins ${list(g.allocation.plugins)}`],
    ['Held', `tags ${g.held.tags}, connections ${g.held.connections}${held ? ' (more than allocated until the agent acknowledges or its lease expires)' : ''}`],
    ['Pending', `tags ${g.pending.tags}, connections ${g.pending.connections}${g.reserved ? ' (reserved)' : ''}${g.priority ? `, priority ${g.priority}` : ''}`],
    ['Tags used', usage(g.usage?.tags, g.allocation.tags)],
    ['Connections used', usage(g.usage?.connections, g.allocation.connections)],
    ['Usage reported', g.usage ? ago(g.usage.reportedAt) : 'never'],
  ];
  if (g.lease) {
    fields.push(
      ['Lease', `seq ${g.lease.seq}, ${g.lease.state}, ${leaseLeft(g)}`],
      ['Lease points', `tags ${g.lease.points.tags}, connections ${g.lease.points.connections}, plugins ${list(g.lease.plugins)}`],
      ['Lease valid', `${date(g.lease.issuedAt)} to ${date(g.lease.expiresAt)}`],
    );
  } else fields.push(['Lease', `none (trial allowance: ${TRIAL_ALLOWANCE.tags} tags, ${TRIAL_ALLOWANCE.connections} connections)`]);
  return renderFields(fields);
}

export function allocationSummary(g: GatewayView): string {
  const a = g.allocation;
  const lines = [`Gateway ${g.name} (${g.id}) is allocated tags ${a.tags}, connections ${a.connections}, plugins ${list(a.plugins)}.`];
  if (g.held.tags > a.tags || g.held.connections > a.connections) {
    lines.push(`It still holds tags ${g.held.tags}, connections ${g.held.connections} until its agent acknowledges the smaller lease or the lease expires.`);
  }
  return lines.join('\n');
}
