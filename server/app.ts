import express, { type RequestHandler, type Router } from 'express';
import { notFoundHandler, problemHandler } from './http/problem-handler.js';
import type { Logger } from './logger.js';

export interface AppParts {
  readonly logger: Logger;
  /** Mounted in order at the root; each router owns its own paths. */
  readonly routers: readonly Router[];
  readonly jsonLimit?: string;
  /** Middleware that sees every request first (metrics). */
  readonly before?: readonly RequestHandler[];
  /** TRUST_PROXY; default false: req.ip is the socket's address, X-Forwarded-For is ignored. */
  readonly trustProxy?: boolean | number | readonly string[];
}

/** Builds the express app; listening happens in the caller so tests can use any port. */
export function createApp(parts: AppParts): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag on JSON answers: they are not stored (Cache-Control: no-store), so hashing every body
  // (50 KB for a page of the gateway list) would buy nothing. Static console files keep theirs.
  app.set('etag', false);
  const trust = parts.trustProxy ?? false;
  app.set('trust proxy', Array.isArray(trust) ? [...trust] : trust);
  for (const mw of parts.before ?? []) app.use(mw);
  app.use(express.json({ limit: parts.jsonLimit ?? '256kb', strict: true }));
  for (const router of parts.routers) app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler(parts.logger));
  return app;
}
