import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactSign, generateKeyPair } from 'jose';
import mqtt from 'mqtt';
import postgres from 'postgres';

export interface Ceilings {
  readonly ed25519NodeCryptoPerSec: number;
  readonly joseSequentialPerSec: number;
  readonly joseConcurrentPerSec: number;
  readonly pgInsertSequentialPerSec: number;
  readonly pgInsertPooledPerSec: number;
  readonly pgPoolSize: number;
  readonly brokerQos1PerSec: number;
  readonly brokerNote: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A payload the size of a real lease's claims. */
const CLAIMS = Buffer.from(
  JSON.stringify({
    iss: 'floatlease',
    sub: crypto.randomUUID(),
    aud: 'floatlease-agent',
    jti: crypto.randomUUID(),
    iat: 1_800_000_000,
    nbf: 1_800_000_000,
    exp: 1_800_000_300,
    seq: 12,
    pool: crypto.randomUUID(),
    hwid: crypto.createHash('sha256').update('x').digest('base64'),
    points: { tags: 10, connections: 1 },
    plugins: [],
    licenseExpiresAt: 1_900_000_000,
    ttl: 300,
  }),
);

/** Runs `op` back to back for `ms`; returns operations per second. */
async function rate(ms: number, op: () => Promise<number> | number): Promise<number> {
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < ms) n += await op();
  return n / ((performance.now() - started) / 1000);
}

export async function signingCeilings(ms: number): Promise<Pick<Ceilings, 'ed25519NodeCryptoPerSec' | 'joseSequentialPerSec' | 'joseConcurrentPerSec'>> {
  const { privateKey: nodeKey } = crypto.generateKeyPairSync('ed25519');
  const ed25519NodeCryptoPerSec = await rate(ms, () => {
    for (let i = 0; i < 100; i++) crypto.sign(null, CLAIMS, nodeKey);
    return 100;
  });
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const signOne = () => new CompactSign(CLAIMS).setProtectedHeader({ alg: 'EdDSA', kid: 'k', typ: 'floatlease-lease+jwt' }).sign(privateKey);
  const joseSequentialPerSec = await rate(ms, async () => {
    for (let i = 0; i < 50; i++) await signOne();
    return 50;
  });
  const joseConcurrentPerSec = await rate(ms, async () => {
    await Promise.all(Array.from({ length: 64 }, signOne));
    return 64;
  });
  return { ed25519NodeCryptoPerSec, joseSequentialPerSec, joseConcurrentPerSec };
}

/** Single-row INSERTs, each its own commit, into a lease-shaped scratch table (dropped afterwards). */
export async function postgresCeilings(url: string, ms: number, poolSize: number): Promise<Pick<Ceilings, 'pgInsertSequentialPerSec' | 'pgInsertPooledPerSec' | 'pgPoolSize'>> {
  const sql = postgres(url, { max: poolSize, onnotice: () => {} });
  const table = `bench_ceiling_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await sql.unsafe(`create table ${table} (id uuid primary key, gateway_id uuid not null, seq bigint not null, tags int not null, state text not null, issued_at timestamptz not null default now())`);
    const insert = () => sql.unsafe(`insert into ${table} (id, gateway_id, seq, tags, state) values ($1, $2, $3, 10, 'issued')`, [crypto.randomUUID(), crypto.randomUUID(), 1]);
    const pgInsertSequentialPerSec = await rate(ms, async () => {
      await insert();
      return 1;
    });
    const pgInsertPooledPerSec = await rate(ms, async () => {
      await Promise.all(Array.from({ length: poolSize }, insert));
      return poolSize;
    });
    return { pgInsertSequentialPerSec, pgInsertPooledPerSec, pgPoolSize: poolSize };
  } finally {
    await sql.unsafe(`drop table if exists ${table}`).catch(() => undefined);
    await sql.end({ timeout: 5 });
  }
}

/**
 * QoS 1 publishes per second from one client to a subscriber, with a window of publishes in
 * flight. With no external broker, a bare aedes runs in its own process (as the controller's
 * embedded broker does inside the controller).
 */
export async function brokerCeiling(ms: number, external?: { url: string; username?: string; password?: string }): Promise<Pick<Ceilings, 'brokerQos1PerSec' | 'brokerNote'>> {
  let url = external?.url;
  let stopBroker = () => {};
  if (!url) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'ceiling-broker.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
    stopBroker = () => child.kill('SIGKILL');
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
      child.once('exit', (code) => reject(new Error(`ceiling broker exited with ${code}`)));
    });
    url = `mqtt://127.0.0.1:${port}`;
  }
  const auth = external?.username ? { username: external.username, password: external.password ?? '' } : {};
  const topic = `floatlease/v1/bench-ceiling/${crypto.randomBytes(4).toString('hex')}`;
  const sub = await mqtt.connectAsync(url, { ...auth, clientId: `bench-sub-${crypto.randomBytes(3).toString('hex')}`, reconnectPeriod: 0 });
  const pub = await mqtt.connectAsync(url, { ...auth, clientId: `bench-pub-${crypto.randomBytes(3).toString('hex')}`, reconnectPeriod: 0 });
  pub.setMaxListeners(1_000);
  try {
    await sub.subscribeAsync(topic, { qos: 1 });
    let received = 0;
    sub.on('message', () => (received += 1));
    const payload = Buffer.alloc(600, 'x'); // a lease message is about this size
    const window = 100;
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < ms) {
      await Promise.all(Array.from({ length: window }, () => pub.publishAsync(topic, payload, { qos: 1 })));
      sent += window;
    }
    // Publishes are done when the broker acknowledged them; count what reached the subscriber.
    const deadline = performance.now() + 5_000;
    while (received < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const seconds = (performance.now() - started) / 1000;
    return { brokerQos1PerSec: received / seconds, brokerNote: external ? 'the external broker' : 'a bare aedes in its own process' };
  } finally {
    await Promise.all([sub.endAsync(true), pub.endAsync(true)]).catch(() => undefined);
    stopBroker();
  }
}
