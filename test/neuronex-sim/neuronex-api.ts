import { Router, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { SimAuth } from './auth.js';
import { coreRouter, type CoreApiContext } from './core-api.js';
import { httpStatusFor, NeuronError, NeuronExError } from './errors.js';
import { jsonBody, neuronExErrorHandler, parseBody, sendNeuronEx } from './http-util.js';
import { decodeSimLicense, type LicenseTerms } from './license-terms.js';
import { neuronExLicenseView, neuronExUploadView } from './license-views.js';

const loginSchema = z.object({ name: z.unknown(), password: z.unknown() });
const licenseSchema = z.object({ license: z.string() });

function requireNeuronExToken(auth: SimAuth): RequestHandler {
  return (req, res, next) => {
    void auth.check(req.get('authorization')).then((code) => {
      if (code === 0) next();
      else sendNeuronEx(res, httpStatusFor(code), code, 'unauthorized');
    });
  };
}

/** The NeuronEX layer: its login, its license routes, and `/api/neuron/*` = the core `/api/v2/*`. */
export function neuronExRouter(ctx: CoreApiContext): Router {
  const { state, auth } = ctx;
  const r = Router();
  const lic = state.license;

  // NeuronEX mode: its documented login is POST /api/login {name,password}; Neuron's own login is
  // not part of NeuronEX's API, so a client that logs in at /api/neuron/login fails as it would there.
  if (ctx.neuronexMode) r.post('/api/neuron/login', (_req, res) => void res.status(404).end());
  // The reverse proxy of neuronex.yaml: same handlers, same state as the core port.
  r.use('/api/neuron', coreRouter(ctx));

  const api = Router();
  api.use(jsonBody());

  api.post('/login', (req, res, next) => {
    const body = parseBody(loginSchema, req.body);
    if (body === undefined) return sendNeuronEx(res, 400, NeuronError.BODY_IS_WRONG, 'request body invalid');
    if (!auth.credentialsMatch(body.name, body.password)) {
      return sendNeuronEx(res, 401, NeuronError.INVALID_USER_OR_PASSWORD, 'invalid user or password');
    }
    auth.issueNeuronExToken().then((token) => res.json({ token, role: 'admin' }), next);
  });

  api.use('/license', requireNeuronExToken(auth));

  const decode = (res: Response, blob: unknown, type: LicenseTerms['type'], expiredCode: number): LicenseTerms | undefined => {
    const body = parseBody(licenseSchema, blob);
    const terms = body && decodeSimLicense(body.license, type, { maxNodes: ctx.defaultMaxNodes, now: lic.now() });
    if (terms === undefined) {
      sendNeuronEx(res, 400, NeuronExError.INVALID_FILE, 'invalid license file');
      return undefined;
    }
    if (terms.expiredDate.getTime() < lic.now().getTime()) {
      sendNeuronEx(res, 400, expiredCode, 'license expired');
      return undefined;
    }
    return terms;
  };

  api.get('/license', (_req, res) => {
    res.json(neuronExLicenseView(state));
  });

  // A local upload while ECP's floating license is in force is refused (13017).
  api.post('/license', (req, res) => {
    if (lic.isFloating()) {
      return sendNeuronEx(res, 400, NeuronExError.UPLOAD_WHILE_FLOATING, 'license is managed by ECP (floating license active)');
    }
    const terms = decode(res, req.body, 'OFFCIAL', NeuronExError.LICENSE_EXPIRED);
    if (terms === undefined) return;
    lic.setBase(terms);
    res.json(neuronExUploadView(state));
  });

  // ECP delivers an allocation: refused when it is below the tags already in use (13008).
  const allocate: RequestHandler = (req, res) => {
    const terms = decode(res, req.body, 'VIRTUAL', NeuronExError.VIRTUAL_EXPIRED);
    if (terms === undefined) return;
    const used = state.tagCount();
    if (terms.maxTags < used) {
      return sendNeuronEx(res, 400, NeuronExError.TAGS_BELOW_USAGE, `allocated tags (${terms.maxTags}) below tags in use (${used})`);
    }
    lic.setVirtual(terms);
    res.json(neuronExLicenseView(state));
  };
  api.post('/license/tag', allocate);
  api.post('/license/floating', allocate);

  api.get('/license/tag', (_req, res) => {
    res.json({ usedTagCount: state.tagCount() });
  });

  // ECP assigns 0 tags or stops managing the gateway: back to the local/default license.
  api.delete('/license/tag', (_req, res) => {
    lic.clearVirtual();
    res.json(neuronExLicenseView(state));
  });

  api.use(neuronExErrorHandler);
  r.use('/api', api);
  return r;
}
