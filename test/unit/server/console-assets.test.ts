import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRouter } from '../../../server/console/console-assets.js';

describe('console assets router', () => {
  let dir: string;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-console-dist-'));
    await fs.mkdir(path.join(dir, 'assets'));
    await fs.writeFile(path.join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
    await fs.writeFile(path.join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    await fs.writeFile(path.join(dir, 'favicon.svg'), '<svg/>');
    const app = express();
    app.use(consoleRouter(dir));
    app.use((_req, res) => void res.status(404).type('application/problem+json').send('{"name":"not-found"}'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => server.close(() => r()));
  });
  afterAll(async () => {
    await close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const get = (p: string, accept = 'text/html') => fetch(url + p, { headers: { accept } });

  it('serves index.html for the root and deep links, uncached', async () => {
    for (const p of ['/', '/pools', '/gateways?q=press', '/audit/anything']) {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      expect(await res.text()).toContain('id="app"');
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  it('serves hashed assets as immutable and 404s a missing one', async () => {
    const res = await get('/assets/index-abc.js', '*/*');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect((await get('/assets/missing.js', '*/*')).status).toBe(404);
    expect((await get('/favicon.svg', '*/*')).status).toBe(200);
  });

  it('never answers for the API, probes, metrics, well-known or socket.io paths', async () => {
    for (const p of ['/api', '/api/v1/pools', '/healthz', '/readyz', '/metrics', '/.well-known/jwks.json', '/socket.io/']) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type'), p).toContain('problem+json');
    }
  });

  it('leaves non-HTML GETs and other methods alone', async () => {
    expect((await get('/pools', 'application/json')).status).toBe(404);
    expect((await fetch(`${url}/pools`, { method: 'POST' })).status).toBe(404);
  });
});
