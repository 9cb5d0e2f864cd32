import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { issuePoolLicense } from '../../server/signing/pool-license.js';
import { generateVendorKeys, loadVendorPrivateKey } from '../../server/signing/vendor-keys.js';

/** The demo's vendor key pair (kept in the demo folder, created on the first run). */
export async function demoVendor(dir: string): Promise<{ publicJwkFile: string; license: () => Promise<string> }> {
  const files = { privateKeyFile: path.join(dir, 'demo-vendor.key.pem'), publicJwkFile: path.join(dir, 'demo-vendor.pub.json') };
  if (!existsSync(files.privateKeyFile) || !existsSync(files.publicJwkFile)) await generateVendorKeys(files, { overwrite: true });
  const key = await loadVendorPrivateKey(files.privateKeyFile);
  return {
    publicJwkFile: files.publicJwkFile,
    license: () => {
      const now = Math.floor(Date.now() / 1000);
      return issuePoolLicense(key.privateKey, key.kid, {
        iss: 'floatlease-demo-vendor',
        sub: crypto.randomUUID(),
        customer: 'Demo Plant',
        iat: now - 60,
        exp: now + 365 * 86_400,
        points: { tags: 1000, connections: 50 },
        plugins: ['OPC UA'],
      });
    },
  };
}

export function adminToken(): string {
  return `fl_${crypto.randomBytes(32).toString('base64url')}`;
}

/** `preferred` when it is free on 127.0.0.1, otherwise 0 (any free port). */
export function portOrFree(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(0));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}

export interface AdminApi {
  <T>(method: string, p: string, body?: unknown): Promise<T>;
}

export function adminApi(baseUrl: string, token: string): AdminApi {
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(baseUrl + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** Some configuration on a gateway, through the agent's gatekeeping proxy: one node, one group, `tags` tags. */
export async function seedGateway(proxyUrl: string, node: string, tags: number): Promise<void> {
  const base = `${proxyUrl}/api/v2`;
  const login = (await (await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', pass: '0000' }) })).json()) as { token?: string };
  const call = async (p: string, body: unknown) => {
    const res = await fetch(base + p, { method: 'POST', headers: { authorization: `Bearer ${login.token ?? ''}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r = (await res.json()) as { error?: number };
    if (r.error !== 0) throw new Error(`POST ${p} on ${proxyUrl}: error ${String(r.error)}`);
  };
  await call('/node', { name: node, plugin: 'Modbus TCP' });
  await call('/node/setting', { node, params: { host: '127.0.0.1', port: 502 } });
  await call('/group', { name: 'g1', node, interval: 1000 });
  await call('/tags', { node, group: 'g1', tags: Array.from({ length: tags }, (_, i) => ({ name: `t${i}`, address: '1!400001', attribute: 1, type: 3 })) });
}
