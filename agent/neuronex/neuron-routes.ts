/**
 * What the gatekeeper does with each state-changing route of the gateway's API. Read from Neuron's
 * route table (emqx/neuron `plugins/restful/handle.c`, see docs/neuron-routes.md for the version and
 * lines) and NeuronEX's documented API. A mutating route missing here is denied: a route the
 * gatekeeper cannot judge could create points past the lease.
 */

/** How a route is judged. */
export type RouteKind =
  /** `POST /node`: one connection per node; the plugin must be allowed. */
  | 'node'
  /** `POST /group`: no points, refused only while usage is already over the limits. */
  | 'group'
  /** `POST /tags`: the batch's tags. */
  | 'tags'
  /** `POST /gtags`: the tags of every group of the batch. */
  | 'gtags'
  /** `POST /node/ctl`: starting a node is refused while usage is over the limits. */
  | 'nodeCtl'
  /** `PUT /global/config|drivers|apps`: the nodes and tags of the body, counted as additions. */
  | 'bulk'
  /** Creations whose size is unknown beforehand (imports, files, templates): done, measured, undone if over. */
  | 'measured'
  /** Changes no counted point: forwarded untouched. */
  | 'passed'
  /** Installs plugin libraries: denied unless listed as an extra allowed route. */
  | 'denied';

/** Neuron core routes (relative to `/api/v2`, or NeuronEX's `/api/neuron`) that change state. */
const CORE_ROUTES: Record<string, RouteKind> = {
  'POST /node': 'node',
  'PUT /node': 'passed', // rename
  'DELETE /node': 'passed',
  'POST /node/ctl': 'nodeCtl',
  'POST /node/setting': 'passed',
  'POST /group': 'group',
  'PUT /group': 'passed',
  'DELETE /group': 'passed',
  'POST /tags': 'tags',
  'PUT /tags': 'passed', // updates existing tags only (2201 otherwise)
  'DELETE /tags': 'passed',
  'POST /gtags': 'gtags',
  'POST /tags/import': 'measured',
  'POST /plugin': 'denied',
  'PUT /plugin': 'denied',
  'DELETE /plugin': 'passed',
  'POST /read': 'passed',
  'POST /read/paginate': 'passed',
  'POST /read/test': 'passed',
  'POST /write': 'passed',
  'POST /write/tags': 'passed',
  'POST /write/gtags': 'passed',
  'POST /subscribe': 'passed',
  'PUT /subscribe': 'passed',
  'DELETE /subscribe': 'passed',
  'POST /subscribes': 'passed',
  'POST /login': 'passed',
  'POST /ping': 'passed',
  'POST /password': 'passed',
  'PUT /log/level': 'passed',
  'PUT /global/config': 'bulk',
  'PUT /global/drivers': 'bulk',
  'PUT /global/apps': 'bulk',
  'POST /template': 'passed', // a template holds no live points until instantiated
  'DELETE /template': 'passed',
  'POST /template/group': 'passed',
  'PUT /template/group': 'passed',
  'DELETE /template/group': 'passed',
  'POST /template/tag': 'passed',
  'PUT /template/tag': 'passed',
  'DELETE /template/tag': 'passed',
  'POST /template/inst': 'measured',
  'POST /template/instances': 'measured',
  'POST /ndriver/map': 'passed',
  'DELETE /ndriver/map': 'passed',
  'PUT /ndriver/tag/param': 'passed',
  'PUT /ndriver/tag/info': 'passed',
  'POST /scan/tags': 'passed', // browses a device, adds nothing
  'POST /cid': 'measured', // IEC 61850 CID file → node, groups, tags
  'POST /tpy': 'measured', // Beckhoff TwinCAT .tpy → tags
  'POST /ede': 'measured', // BACnet EDE → tags
  'POST /otel': 'passed',
  'POST /system/ctl': 'passed',
  'POST /users': 'passed',
  'PUT /users': 'passed',
  'DELETE /users': 'passed',
};

/** NeuronEX's own routes on port 8085 (relative to `/api`) that change no counted point. */
const NEURONEX_ROUTES: Record<string, RouteKind> = {
  'POST /login': 'passed',
  'POST /logout': 'passed',
  // The gateway's own license (a site license) still caps it; installing one never lifts the lease.
  'POST /license': 'passed',
  'POST /license/activation_code': 'passed',
};

/** NeuronEX's reverse proxy to the core API, and Neuron's own prefix. */
const CORE_PREFIXES = ['/api/v2', '/api/neuron'] as const;
/** eKuiper's rules and streams (data processing) hold no counted points. */
const PASSED_PREFIXES = ['/api/ekuiper/', '/api/v2/ekuiper/'];

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RouteMatch {
  readonly kind: RouteKind;
  /** The route as Neuron names it, e.g. `POST /tags`; undefined for an unknown route. */
  readonly route: string | undefined;
}

export type Canonical = { ok: true; path: string } | { ok: false };

/**
 * The path the gateway's HTTP server routes on: percent-decoded once (NanoSDK's `http_uri_canonify`),
 * duplicate slashes collapsed, `.`/`..` resolved, no trailing slash. A path that decodes to something
 * no handler could match (bad escapes, NUL, `?`, `#`, `\`) is not canonical.
 */
export function canonicalPath(rawPath: string): Canonical {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false };
  }
  if (/[\0?#\\]/.test(decoded)) return { ok: false };
  const out: string[] = [];
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return { ok: true, path: '/' + out.join('/') };
}

/** A configured extra route: `METHOD /path` or `METHOD /prefix/*` (method `*` = any). */
export interface ExtraRoute {
  readonly method: string;
  readonly path: string;
  readonly prefix: boolean;
}

export function parseExtraRoutes(spec: readonly string[]): ExtraRoute[] {
  return spec.map((s) => {
    const m = /^\s*([A-Za-z*]+)\s+(\/\S*)\s*$/.exec(s);
    if (!m?.[1] || !m[2]) throw new Error(`expected "METHOD /path" or "METHOD /path/*", got ${JSON.stringify(s)}`);
    const raw = m[2];
    const prefix = raw.endsWith('/*');
    const c = canonicalPath(prefix ? raw.slice(0, -2) : raw);
    if (!c.ok) throw new Error(`not a usable path: ${JSON.stringify(raw)}`);
    return { method: m[1].toUpperCase(), path: c.path.toLowerCase(), prefix };
  });
}

function extraAllows(extra: readonly ExtraRoute[], method: string, path: string): boolean {
  return extra.some((e) => (e.method === '*' || e.method === method) && (e.prefix ? path === e.path || path.startsWith(e.path + '/') : path === e.path));
}

/**
 * Classifies a request by its canonical path. Matching ignores case, so a case variant of a gated
 * route is gated too. Safe methods pass; unknown mutating routes are `unknown` (denied by the proxy).
 */
export function classify(method: string, path: string, extra: readonly ExtraRoute[] = []): RouteMatch | 'unknown' {
  const m = method.toUpperCase();
  if (!MUTATING.has(m)) return { kind: 'passed', route: undefined };
  const lower = path.toLowerCase();
  for (const prefix of CORE_PREFIXES) {
    if (lower === prefix || lower.startsWith(prefix + '/')) {
      const route = `${m} ${lower.slice(prefix.length) || '/'}`;
      const kind = CORE_ROUTES[route];
      if (kind !== undefined && !(kind === 'denied' && extraAllows(extra, m, lower))) return { kind, route };
    }
  }
  if (lower.startsWith('/api/')) {
    const route = `${m} ${lower.slice('/api'.length)}`;
    const kind = NEURONEX_ROUTES[route];
    if (kind !== undefined) return { kind, route };
  }
  if (PASSED_PREFIXES.some((p) => lower.startsWith(p))) return { kind: 'passed', route: undefined };
  if (extraAllows(extra, m, lower)) return { kind: 'passed', route: undefined };
  return 'unknown';
}
