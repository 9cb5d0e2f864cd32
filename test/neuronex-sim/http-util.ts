import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { SimAuth } from './auth.js';
import { httpStatusFor, NeuronError } from './errors.js';

/** Replies `{error: code, ...extra}` with the status Neuron uses for that code. */
export function sendNeuron(res: Response, body: { error: number } & Record<string, unknown>): void {
  res.status(httpStatusFor(body.error)).json(body);
}

export function sendNeuronError(res: Response, code: number): void {
  sendNeuron(res, { error: code });
}

/** First value of a query parameter; Express may hand over arrays for repeated keys. */
export function queryParam(req: Request, name: string): string | undefined {
  const v: unknown = req.query[name];
  const first: unknown = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> | undefined {
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** Neuron reads any body as JSON, whatever its Content-Type. */
export function jsonBody(): RequestHandler {
  return express.json({ limit: '50mb', type: () => true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Delays every request by the current latency (read per request, so it can change at run time). */
export function latency(current: () => number): RequestHandler {
  return (_req, _res, next) => {
    const ms = current();
    if (ms <= 0) {
      next();
      return;
    }
    void sleep(ms).then(() => next());
  };
}

/** Core routes: Bearer token or a 401/403 `{error}`. */
export function requireCoreToken(auth: SimAuth): RequestHandler {
  return (req, res, next) => {
    void auth.check(req.get('authorization')).then((code) => {
      if (code === 0) next();
      else sendNeuronError(res, code);
    });
  };
}

function isBodyParseError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'type' in err && (err as { type: unknown }).type === 'entity.parse.failed';
}

/** Unparseable JSON is 1002, anything unexpected 1001, both as Neuron shapes them. */
export const coreErrorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  sendNeuronError(res, isBodyParseError(err) ? NeuronError.BODY_IS_WRONG : NeuronError.EINTERNAL);
};

/** NeuronEX's own routes answer errors as `{code, message}`. */
export function sendNeuronEx(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message });
}

export const neuronExErrorHandler: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (isBodyParseError(err)) sendNeuronEx(res, 400, NeuronError.BODY_IS_WRONG, 'request body invalid');
  else sendNeuronEx(res, 500, NeuronError.EINTERNAL, 'internal error');
};
