import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { Role } from '../../shared/protocol/rest.js';
import type { Actor } from '../auth/actor.js';
import { hasRole } from '../auth/actor.js';
import { AppError } from '../errors/app-error.js';
import { validationError } from './problem-handler.js';
import type { ConcurrencyLimit } from '../leases/concurrency-limit.js';

type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
type RouteAuth = { readonly role: Role } | 'gateway' | 'public';

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined> {
  readonly method: HttpMethod;
  /** Express path, e.g. `/api/v1/pools/:id`. */
  readonly path: string;
  readonly summary: string;
  /** Longer text for the OpenAPI document (CommonMark): how a policy works, with a worked example. */
  readonly description?: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly body?: B;
  readonly query?: Q;
  readonly params?: P;
  readonly responses: Readonly<Record<number, { readonly description: string; readonly schema?: Schema }>>;
  /** Extra middleware run before validation (e.g. a rate limiter). */
  readonly before?: readonly RequestHandler[];
  readonly handler: (input: {
    body: Out<B>;
    query: Out<Q>;
    params: Out<P>;
    actor: Actor;
    req: Request;
    res: Response;
  }) => Promise<{ status?: number; body?: unknown } | void>;
}

// Specs differ in their type parameters; the registry keeps them for routing and OpenAPI only.
export type AnyRouteSpec = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;

/** How a request's actor is found; installed by the auth layer (bearer tokens, gateway credentials). */
export type ActorResolver = (req: Request, auth: RouteAuth) => Promise<Actor>;

function parse<S extends Schema | undefined>(schema: S, value: unknown, where: string): Out<S> {
  if (!schema) return undefined as Out<S>;
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, where);
  return r.data as Out<S>;
}

/**
 * Routes are declared once with their zod schemas; the same declarations drive validation,
 * authorisation and the OpenAPI document.
 */
export class RouteRegistry {
  private readonly specs: AnyRouteSpec[] = [];

  add<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined>(spec: RouteSpec<B, Q, P>): void {
    this.specs.push(spec as unknown as AnyRouteSpec);
  }

  all(): readonly AnyRouteSpec[] {
    return this.specs;
  }

  /**
   * `adminWrites` bounds the users' writes (every route with a role that is not a GET) that run at
   * once: each holds a database connection, often queued on the pool row lock that lease grants
   * take too, so a burst past the lane waits here in memory instead of in front of the pool.
   */
  router(resolveActor: ActorResolver, opts: { adminWrites?: ConcurrencyLimit } = {}): Router {
    const router = Router();
    const adminWrites = opts.adminWrites;
    for (const spec of this.specs) {
      const handle: RequestHandler = async (req, res, next) => {
        const started = performance.now();
        try {
          const actor = await resolveActor(req, spec.auth);
          authorise(actor, spec.auth);
          if (!spec.body) refuseUnexpectedBody(req);
          const hasBody = spec.method !== 'get' && spec.method !== 'delete';
          if (hasBody && spec.body && req.body === undefined) {
            throw new AppError('validation-failed', 'body: expected a JSON object (Content-Type: application/json)', {
              errors: [{ path: 'body', message: 'expected a JSON object' }],
            });
          }
          if (!spec.body && req.body !== undefined && !isEmptyObject(req.body)) {
            // A route without a body schema takes no body: fields sent to it are unknown, not ignored.
            const errors = isPlainObject(req.body)
              ? Object.keys(req.body).map((key) => ({ path: `body.${key}`, message: 'unknown field' }))
              : [{ path: 'body', message: 'this route takes no body' }];
            throw new AppError('validation-failed', `${errors[0]!.path}: ${errors[0]!.message} (this route takes no body)`, { errors });
          }
          const input = {
            body: parse(spec.body, req.body ?? {}, 'body'),
            query: parse(spec.query, req.query, 'query'),
            params: parse(spec.params, req.params, 'params'),
            actor,
            req,
            res,
          };
          const laned = adminWrites && typeof spec.auth === 'object' && spec.method !== 'get';
          const result = laned ? await adminWrites.run(() => spec.handler(input)) : await spec.handler(input);
          if (res.headersSent) return;
          // The handler's time (authentication, validation, the service and its queries), for the
          // browser's resource timing and devtools: tells a slow server from a slow network or page.
          res.setHeader('Server-Timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
          const status = result?.status ?? (result?.body === undefined ? 204 : 200);
          if (result?.body === undefined) res.status(status).end();
          else res.status(status).json(result.body);
        } catch (err) {
          next(err);
        }
      };
      router[spec.method](spec.path, ...(spec.before ?? []), handle);
    }
    return router;
  }
}

/**
 * A route without a body schema takes no body of any kind. express.json() only parses JSON, so a
 * body in another media type would otherwise reach the handler unseen (and be acted on).
 */
function refuseUnexpectedBody(req: Request): void {
  const length = req.headers['content-length'];
  const sent = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!sent) return;
  if (!req.is('application/json')) {
    throw new AppError('unsupported-media-type', 'this route takes no body', { errors: [{ path: 'body', message: 'this route takes no body' }] });
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyObject(v: unknown): boolean {
  return isPlainObject(v) && Object.keys(v).length === 0;
}

function authorise(actor: Actor, auth: RouteAuth): void {
  if (auth === 'public') return;
  if (auth === 'gateway') {
    if (actor.kind !== 'gateway') throw new AppError('unauthorized', 'a gateway credential is required');
    return;
  }
  if (actor.kind !== 'user') throw new AppError('unauthorized', 'a bearer token is required');
  if (!hasRole(actor, auth.role)) {
    throw new AppError('forbidden', `this needs the ${auth.role} role; the token has ${actor.role}`);
  }
}
