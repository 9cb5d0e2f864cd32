import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveHardwareId, hardwareDigest, HardwareIdError, isHardwareId, stableMacAddresses } from '../../../agent/hardware/hardware-id.js';
import { systemMachineFacts, type InterfaceFact, type MachineFacts } from '../../../agent/hardware/machine-facts.js';
import { hardwareIdSchema } from '../../../shared/protocol/lease-claims.js';
import { tempDirsPerTest } from '../signing/lease-fixtures.js';

const nic = (mac: string, internal = false): InterfaceFact => ({ mac, internal });

function facts(machineId: string | undefined, interfaces: Record<string, InterfaceFact[]>): MachineFacts {
  return { machineId: async () => machineId, networkInterfaces: () => interfaces };
}

const MACHINE = '4c4c4544004a5610804bb4c04f503832';
const host = {
  lo: [nic('00:00:00:00:00:00', true)],
  eth0: [nic('3C:EC:EF:12:34:56'), nic('3c:ec:ef:12:34:56')],
  eth1: [nic('3c:ec:ef:12:34:57')],
  docker0: [nic('02:42:9a:11:22:33')],
  veth1a2b: [nic('1a:2b:3c:4d:5e:6f')],
};

describe('hardware identifier', () => {
  it('is a 44-character base64 SHA-256 digest that the lease schema accepts', async () => {
    const id = await deriveHardwareId({ facts: facts(MACHINE, host) });
    expect(id).toHaveLength(44);
    expect(Buffer.from(id, 'base64')).toHaveLength(32);
    expect(isHardwareId(id)).toBe(true);
    expect(hardwareIdSchema.safeParse(id).success).toBe(true);
  });

  it('is deterministic and independent of interface order, MAC case and virtual interfaces', async () => {
    const a = await deriveHardwareId({ facts: facts(MACHINE, host) });
    const reordered = { veth9: [nic('aa:aa:aa:aa:aa:aa')], eth1: host.eth1, eth0: [nic('3c:ec:ef:12:34:56')], br_lan: [] };
    expect(await deriveHardwareId({ facts: facts(`${MACHINE.toUpperCase()}\n`, reordered) })).toBe(a);
  });

  it('changes with the machine-id or a physical NIC', async () => {
    const a = await deriveHardwareId({ facts: facts(MACHINE, host) });
    expect(await deriveHardwareId({ facts: facts('0'.repeat(32), host) })).not.toBe(a);
    expect(await deriveHardwareId({ facts: facts(MACHINE, { ...host, eth1: [nic('3c:ec:ef:12:34:58')] }) })).not.toBe(a);
  });

  it('keeps globally administered MACs, and uses random ones only when there is nothing else', () => {
    expect(stableMacAddresses(host)).toEqual(['3c:ec:ef:12:34:56', '3c:ec:ef:12:34:57']);
    expect(stableMacAddresses({ eth0: [nic('02:42:ac:11:00:02')], lo: [nic('00:00:00:00:00:00', true)] })).toEqual(['02:42:ac:11:00:02']);
    expect(stableMacAddresses({ eth0: [nic('zz')], wg0: [nic('3c:ec:ef:00:00:01')] })).toEqual([]);
  });

  it('works from a machine-id alone or from MACs alone, and refuses to guess with neither', async () => {
    const idOnly = await deriveHardwareId({ facts: facts(MACHINE, {}) });
    const macsOnly = await deriveHardwareId({ facts: facts(undefined, host) });
    expect(isHardwareId(idOnly) && isHardwareId(macsOnly)).toBe(true);
    expect(idOnly).not.toBe(macsOnly);
    await expect(deriveHardwareId({ facts: facts(undefined, { lo: host.lo }) })).rejects.toBeInstanceOf(HardwareIdError);
    await expect(deriveHardwareId({ facts: facts('  ', {}) })).rejects.toBeInstanceOf(HardwareIdError);
  });

  it('an override wins: used verbatim when it is already a token, hashed otherwise', async () => {
    const token = hardwareDigest('from-neuronex');
    expect(await deriveHardwareId({ override: token, facts: facts(MACHINE, host) })).toBe(token);
    expect(await deriveHardwareId({ override: ` ${token} `, facts: facts(undefined, {}) })).toBe(token);
    const hashed = await deriveHardwareId({ override: 'plant-7-line-2', facts: facts(MACHINE, host) });
    expect(hashed).toBe(hardwareDigest('plant-7-line-2'));
    expect(isHardwareId(hashed)).toBe(true);
    expect(await deriveHardwareId({ override: '', facts: facts(MACHINE, host) })).toBe(await deriveHardwareId({ facts: facts(MACHINE, host) }));
  });

  it('hashes a 44-character string that is not a 32-byte digest', async () => {
    const lookalike = `${'A'.repeat(43)}B`;
    expect(isHardwareId(lookalike)).toBe(false);
    expect(await deriveHardwareId({ override: lookalike, facts: facts(undefined, {}) })).toBe(hardwareDigest(lookalike));
  });

  describe('systemMachineFacts', () => {
    const freshDir = tempDirsPerTest('hwid');

    it('reads the first usable machine-id file, skipping missing and uninitialized ones', async () => {
      const dir = await freshDir();
      const first = path.join(dir, 'etc-machine-id');
      const second = path.join(dir, 'dbus-machine-id');
      await fs.writeFile(first, 'uninitialized\n');
      await fs.writeFile(second, `${MACHINE}\n`);
      expect(await systemMachineFacts([path.join(dir, 'missing'), first, second]).machineId()).toBe(MACHINE);
      expect(await systemMachineFacts([path.join(dir, 'missing')]).machineId()).toBeUndefined();
    });

    it('derives a valid identifier on this machine, the same twice', async () => {
      const a = await deriveHardwareId({ facts: systemMachineFacts() }).catch((e: unknown) => e);
      if (a instanceof HardwareIdError) {
        // A bare sandbox with neither fact: refusing, and pointing at the override, is the correct outcome.
        expect(a.message).toMatch(/override/);
        return;
      }
      expect(isHardwareId(a as string)).toBe(true);
      expect(await deriveHardwareId({ facts: systemMachineFacts() })).toBe(a);
    });
  });
});
