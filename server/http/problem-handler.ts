import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import type { Problem, ProblemName } from '../../shared/protocol/problem.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logger.js';
import { issuePath } from '../../shared/zod-issues.js';

const titles: Partial<Record<ProblemName, string>> = {
  'validation-failed': 'Request validation failed',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed for this role',
  'not-found': 'Not found',
  internal: 'Internal server error',
};

function problemOf(err: AppError): Problem {
  const errors = err.extensions.errors as Problem['errors'];
  return {
    ...err.extensions,
    type: `https://floatlease.dev/problems/${err.problem}`,
    title: titles[err.problem] ?? err.problem.replaceAll('-', ' '),
    status: err.status,
    detail: err.message,
    name: err.problem,
    ...(errors ? { errors } : {}),
  };
}

export function validationError(error: z.ZodError, where: string): AppError {
  // An unknown field is named in the path itself, like any other offending field.
  const errors = error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((key) => ({ path: `${issuePath(i, where)}.${key}`, message: 'unknown field' }))
      : [{ path: issuePath(i, where), message: i.message }],
  );
  const first = errors[0];
  return new AppError('validation-failed', first ? `${first.path}: ${first.message}` : 'invalid request', { errors });
}

function sendProblem(res: Parameters<RequestHandler>[1], err: AppError): void {
  res.status(err.status).type('application/problem+json').send(JSON.stringify(problemOf(err)));
}

/** The single place errors become HTTP responses (RFC 9457 problem+json). */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let appError: AppError;
    if (err instanceof AppError) appError = err;
    else if (isBodyParserError(err)) appError = fromBodyParser(err);
    else if (err instanceof URIError) {
      // The router could not percent-decode a path segment: the client sent a malformed URL.
      appError = new AppError('validation-failed', 'path: malformed percent-encoding', {
        errors: [{ path: 'path', message: 'malformed percent-encoding' }],
      });
    } else if (isClientHttpError(err)) appError = fromBodyParser({ type: 'client', status: err.status, message: err.message });
    else {
      logger.error({ err, method: req.method, path: req.path }, 'unhandled error in request');
      appError = new AppError('internal', 'an unexpected error occurred; it has been logged');
    }
    if (res.headersSent) return;
    sendProblem(res, appError);
  };
}

interface BodyParserError {
  type: string;
  status: number;
  message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && 'status' in err;
}

/** An http-errors style 4xx raised by express or one of its parsers (never our own AppError). */
function isClientHttpError(err: unknown): err is { status: number; message: string } {
  if (typeof err !== 'object' || err === null || !('status' in err)) return false;
  const status = (err as { status: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

function fromBodyParser(err: BodyParserError): AppError {
  if (err.type === 'entity.too.large') return new AppError('payload-too-large', 'request body is too large');
  if (err.type === 'entity.parse.failed') {
    return new AppError('validation-failed', 'body: malformed JSON', { errors: [{ path: 'body', message: 'malformed JSON' }] });
  }
  if (err.status === 415) return new AppError('unsupported-media-type', err.message);
  return new AppError('validation-failed', err.message);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not-found', `no route for ${req.method} ${req.path}`));
};
