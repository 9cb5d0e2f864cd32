import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  readonly caFile: string;
  readonly cert: string;
  readonly key: string;
}

/** A throwaway CA and a server certificate for IP 127.0.0.1 signed by it (openssl, into `dir`). */
export async function createTestPki(dir: string): Promise<TestPki> {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=floatlease test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  await fs.writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '1', '-extfile', f('server.ext')]);
  return { caFile: f('ca.pem'), cert: await fs.readFile(f('server.pem'), 'utf8'), key: await fs.readFile(f('server.key'), 'utf8') };
}

export interface TlsTerminator {
  readonly port: number;
  close(): Promise<void>;
}

/** TLS on 127.0.0.1 in front of a plain TCP service (the controller's HTTP port, the embedded broker). */
export async function startTlsTerminator(pki: TestPki, targetPort: number): Promise<TlsTerminator> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: pki.cert, key: pki.key }, (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  // A client refusing our certificate ends the handshake; nothing to forward.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
