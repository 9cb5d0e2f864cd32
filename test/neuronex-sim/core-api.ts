import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { SimAuth } from './auth.js';
import { globalRoutes } from './core-global-routes.js';
import { nodeRoutes } from './core-node-routes.js';
import { tagRoutes } from './core-tag-routes.js';
import { NeuronError } from './errors.js';
import { coreErrorHandler, jsonBody, parseBody, queryParam, requireCoreToken, sendNeuron, sendNeuronError } from './http-util.js';
import { decodeSimLicense, type LicenseType } from './license-terms.js';
import { coreLicenseView, usageError } from './license-views.js';
import { renderMetrics } from './metrics-text.js';
import type { NeuronState } from './neuron-state.js';

export interface CoreApiContext {
  state: NeuronState;
  auth: SimAuth;
  version: string;
  /** Connection allowance a license without a connection count gets. */
  defaultMaxNodes: number;
  /** NeuronEX mode: as NeuronEX 3.x ships (default DataProcessing node, no /api/neuron/login). */
  neuronexMode?: boolean;
}

const loginSchema = z.object({ name: z.unknown(), pass: z.unknown() });
const licenseSchema = z.object({ license: z.string() });

/** Installs a license on the core: the uploaded license is kept even when it is below usage. */
function installCoreLicense(ctx: CoreApiContext, blob: string, type: LicenseType): number {
  const lic = ctx.state.license;
  const terms = decodeSimLicense(blob, type, { maxNodes: ctx.defaultMaxNodes, now: lic.now() });
  if (terms === undefined) return NeuronError.LICENSE_INVALID;
  if (terms.expiredDate.getTime() < lic.now().getTime()) return NeuronError.LICENSE_EXPIRED;
  if (type === 'VIRTUAL') lic.setVirtual(terms);
  else lic.setBase(terms);
  return usageError(terms, ctx.state, false);
}

/** The Neuron core REST API, mounted at `/api/v2` (and at NeuronEX's `/api/neuron`). */
export function coreRouter(ctx: CoreApiContext): Router {
  const { state, auth } = ctx;
  const r = Router();
  r.use(jsonBody());

  r.post('/login', (req, res, next) => {
    const body = parseBody(loginSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    if (!auth.credentialsMatch(body.name, body.pass)) return sendNeuronError(res, NeuronError.INVALID_USER_OR_PASSWORD);
    auth.issueCoreToken().then((token) => res.json({ token }), next);
  });

  r.post('/ping', (_req, res) => {
    res.json({});
  });

  // The metrics handler never checks the JWT.
  r.get('/metrics', (req, res) => {
    const out = renderMetrics(state, queryParam(req, 'category'), queryParam(req, 'node'));
    res.status(out.status).type('text/plain; version=0.0.4; charset=utf-8').send(out.body);
  });

  r.get('/version', (_req, res) => {
    res.json({ build_date: state.startedAt.toISOString().slice(0, 10), revision: 'neuronex-sim', version: ctx.version });
  });

  r.use(requireCoreToken(auth));
  r.use(nodeRoutes(state));
  r.use(tagRoutes(state));
  r.use(globalRoutes(state));

  r.get('/license', (_req, res) => {
    res.json(coreLicenseView(state));
  });

  const upload =
    (type: LicenseType): RequestHandler =>
    (req, res) => {
      const body = parseBody(licenseSchema, req.body);
      if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
      const code = installCoreLicense(ctx, body.license, type);
      // Installed but over-used: the dashboard reads 2404/2405 from a 200 here (neuronex.md §9.6).
      const installed = code === NeuronError.LICENSE_MAX_NODES || code === NeuronError.LICENSE_MAX_TAGS;
      if (installed) res.status(200).json({ error: code });
      else sendNeuronError(res, code);
    };
  r.post('/license', upload('OFFCIAL'));
  r.post('/license/virtual', upload('VIRTUAL'));

  r.delete('/license/virtual', (_req, res) => {
    state.license.clearVirtual();
    sendNeuron(res, { error: 0 });
  });

  r.get('/hwtoken', (_req, res) => {
    // Empty in Docker, where NeuronEX cannot read a hardware identity.
    res.json({ token: state.license.hardwareToken });
  });

  r.use((_req, res) => {
    res.status(404).end();
  });
  r.use(coreErrorHandler);
  return r;
}
