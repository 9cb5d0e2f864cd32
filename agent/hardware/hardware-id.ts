import { createHash } from 'node:crypto';
import { HARDWARE_ID_PATTERN } from '../../shared/protocol/lease-claims.js';
import type { MachineFacts } from './machine-facts.js';

export class HardwareIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HardwareIdError';
  }
}

/** Interfaces that come and go with containers, VPNs and hypervisors, so they must not shape the identity. */
const VIRTUAL_INTERFACE = /^(lo|veth|docker|br-|virbr|vnet|cni|flannel|cali|tun|tap|vxlan|kube|weave|wg|zt|tailscale|dummy)/;
const ZERO_MAC = '00:00:00:00:00:00';

/** Base64 SHA-256, 44 characters: the shape of NeuronEX's hardware token. */
export function hardwareDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export function isHardwareId(value: string): boolean {
  return HARDWARE_ID_PATTERN.test(value);
}

/**
 * The configured override wins (used as is when it is already a 44-character digest, else hashed);
 * otherwise machine-id plus the sorted hardware MAC addresses, hashed.
 */
export async function deriveHardwareId(options: { readonly override?: string; readonly facts: MachineFacts }): Promise<string> {
  const override = options.override?.trim();
  if (override) return isHardwareId(override) ? override : hardwareDigest(override);

  const machineId = (await options.facts.machineId())?.trim().toLowerCase() || undefined;
  const macs = stableMacAddresses(options.facts.networkInterfaces());
  if (!machineId && macs.length === 0) {
    throw new HardwareIdError('no machine-id and no network interface to derive a hardware identifier from; configure an override');
  }
  return hardwareDigest(`floatlease-hwid-v1\nmachine-id=${machineId ?? ''}\nmac=${macs.join(',')}`);
}

/**
 * Non-internal MACs of physical-looking interfaces, sorted. Globally administered addresses are
 * preferred; locally administered ones (random or virtual) count only when there is nothing else,
 * as inside a container or VM.
 */
export function stableMacAddresses(interfaces: Readonly<Record<string, readonly { mac: string; internal: boolean }[] | undefined>>): string[] {
  const macs = new Set<string>();
  for (const [name, entries] of Object.entries(interfaces)) {
    if (VIRTUAL_INTERFACE.test(name)) continue;
    for (const entry of entries ?? []) {
      const mac = entry.mac.toLowerCase();
      if (!entry.internal && mac !== ZERO_MAC && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) macs.add(mac);
    }
  }
  const all = [...macs].sort();
  const global = all.filter((mac) => (parseInt(mac.slice(0, 2), 16) & 0x02) === 0);
  return global.length > 0 ? global : all;
}
