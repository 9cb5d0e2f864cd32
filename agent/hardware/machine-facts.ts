import { readFile } from 'node:fs/promises';
import os from 'node:os';

export interface InterfaceFact {
  readonly mac: string;
  readonly internal: boolean;
}

/** The machine facts a hardware identifier is derived from; injected so derivation is testable. */
export interface MachineFacts {
  machineId(): Promise<string | undefined>;
  networkInterfaces(): Readonly<Record<string, readonly InterfaceFact[] | undefined>>;
}

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'] as const;

/** systemd's machine-id, then D-Bus's, then the live network interfaces. */
export function systemMachineFacts(machineIdFiles: readonly string[] = MACHINE_ID_FILES): MachineFacts {
  return {
    async machineId() {
      for (const file of machineIdFiles) {
        const id = await readFile(file, 'utf8').then(
          (text) => text.trim(),
          () => '',
        );
        // systemd writes "uninitialized" during first boot.
        if (id !== '' && id !== 'uninitialized') return id;
      }
      return undefined;
    },
    networkInterfaces: () => os.networkInterfaces(),
  };
}
