import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { ActivationResult, LicenseFileResult } from '../agent.js';
import { describeIssue } from '../../shared/zod-issues.js';

const activationBody = z.strictObject({ activationCode: z.string().trim().min(4).max(200) });

/**
 * The device-side flows of NeuronEX's Administration > License on the agent: activate with a code
 * (enroll, or re-enroll after a lost license), or load an offline license file. Only the holder of the local credential may do it:
 * the code binds this hardware to a pool, and the controller audits every enrollment.
 */
export function activationRoutes(o: {
  localToken: string;
  activate: (code: string) => Promise<ActivationResult>;
  loadLicenseFile?: (content: string) => Promise<LicenseFileResult>;
}): Router {
  const router = Router();
  const authorised = localTokenCheck(o.localToken);
  // NeuronEX's own path for the same action (POST /api/license/activation_code {activationCode}).
  router.post('/api/license/activation_code', (req, res, next) => {
    if (!authorised(req)) return void res.status(401).json({ error: 'unauthorized', detail: 'the local admin token is required (Authorization: Bearer …)' });
    const parsed = activationBody.safeParse(req.body ?? {});
    if (!parsed.success) return void res.status(400).json({ error: 'validation-failed', detail: describeIssue(parsed.error.issues[0], { under: 'body' }) });
    o.activate(parsed.data.activationCode).then((r) => {
      if (r.ok) res.json({ gatewayId: r.gatewayId, poolId: r.poolId, name: r.name, reenrolled: r.reenrolled });
      else res.status(r.status >= 400 && r.status < 600 ? r.status : 502).json({ error: r.problem ?? 'activation-failed', detail: r.detail });
    }, next);
  });
  // NeuronEX's "upload a license file": the body is the file as is (any Content-Type but JSON, which
  // the app already parsed: the controller's JSON answer saved as the file works too).
  const load = o.loadLicenseFile;
  if (load) {
    router.post('/api/license/file', express.text({ type: (req) => !/json/i.test(req.headers['content-type'] ?? ''), limit: '16kb' }), (req, res, next) => {
      if (!authorised(req)) return void res.status(401).json({ error: 'unauthorized', detail: 'the local admin token is required (Authorization: Bearer …)' });
      const body: unknown = req.body;
      const content = typeof body === 'string' ? body : body !== null && typeof body === 'object' ? JSON.stringify(body) : '';
      if (!content.trim()) return void res.status(400).json({ error: 'validation-failed', detail: 'the body must be the license file' });
      load(content).then((r) => {
        if (r.ok) res.json({ seq: r.seq, expiresAt: r.expiresAt, points: r.points, plugins: r.plugins, offline: r.offline, reported: r.reported });
        else res.status(r.status).json({ error: r.reason, detail: r.detail });
      }, next);
    });
  }
  return router;
}

/** Whether a request carries the local admin token (`Authorization: Bearer …`), compared in constant time. */
export function localTokenCheck(localToken: string): (req: Request) => boolean {
  const expected = crypto.createHash('sha256').update(localToken).digest();
  return (req) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    return m?.[1] !== undefined && crypto.timingSafeEqual(crypto.createHash('sha256').update(m[1]).digest(), expected);
  };
}

/** The token file in the state folder, if one was generated: what `localAdminToken` reads back. */
export async function storedLocalToken(stateDir: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(stateDir, 'local-token'), 'utf8')).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return undefined;
  }
}

/**
 * The local admin token: FLOATLEASE_LOCAL_TOKEN, or one generated once into the state folder
 * (`local-token`, mode 0600) for the person at the device to read. Never logged.
 */
export async function localAdminToken(configured: string | undefined, stateDir: string): Promise<{ token: string; file: string | undefined }> {
  if (configured) return { token: configured, file: undefined };
  const file = path.join(stateDir, 'local-token');
  const existing = await storedLocalToken(stateDir);
  if (existing) return { token: existing, file };
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const token = crypto.randomBytes(24).toString('base64url');
  await fs.writeFile(file, token + '\n', { mode: 0o600 });
  return { token, file };
}
