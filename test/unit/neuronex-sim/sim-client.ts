import { startNeuronSimulator, type NeuronSimulator, type NeuronSimulatorOptions } from '../../neuronex-sim/neuron-simulator.js';

export interface Reply {
  status: number;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
  contentType: string;
}

/** One HTTP call with an optional JSON body and bearer token. */
export async function call(url: string, method: string, body?: unknown, token?: string): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, contentType: res.headers.get('content-type') ?? '' };
}

/** A logged-in client of one API prefix (`/api/v2` on the core port, `/api/neuron` on NeuronEX). */
export class Api {
  constructor(
    readonly base: string,
    readonly token?: string,
  ) {}

  get(path: string): Promise<Reply> {
    return call(this.base + path, 'GET', undefined, this.token);
  }

  post(path: string, body: unknown): Promise<Reply> {
    return call(this.base + path, 'POST', body, this.token);
  }

  put(path: string, body: unknown): Promise<Reply> {
    return call(this.base + path, 'PUT', body, this.token);
  }

  del(path: string, body?: unknown): Promise<Reply> {
    return call(this.base + path, 'DELETE', body, this.token);
  }
}

export async function coreLogin(sim: NeuronSimulator): Promise<string> {
  const r = await call(`${sim.coreUrl}/api/v2/login`, 'POST', { name: 'admin', pass: '0000' });
  const token = (r.json as { token?: unknown } | undefined)?.token;
  if (r.status !== 200 || typeof token !== 'string') throw new Error(`login failed: ${r.status} ${r.text}`);
  return token;
}

export async function exLogin(sim: NeuronSimulator): Promise<string> {
  const r = await call(`${sim.exUrl}/api/login`, 'POST', { name: 'admin', password: '0000' });
  const token = (r.json as { token?: unknown } | undefined)?.token;
  if (r.status !== 200 || typeof token !== 'string') throw new Error(`NeuronEX login failed: ${r.status} ${r.text}`);
  return token;
}

/** A simulator plus a logged-in core client. */
export async function startWithClient(opts: NeuronSimulatorOptions = {}): Promise<{ sim: NeuronSimulator; api: Api }> {
  const sim = await startNeuronSimulator(opts);
  return { sim, api: new Api(`${sim.coreUrl}/api/v2`, await coreLogin(sim)) };
}

export function tag(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, address: `1!4${String(name.length).padStart(5, '0')}`, attribute: 1, type: 3, ...extra };
}

export function tags(prefix: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => tag(`${prefix}${i}`));
}
