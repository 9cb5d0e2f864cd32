import type { z } from 'zod';
import { problemSchema } from '../../shared/protocol/problem.js';
import { CliError, EXIT, exitCodeFor, type ProblemLike } from './errors.js';
import { describeIssue } from '../../shared/zod-issues.js';

export interface ApiClientOptions {
  /** Base URL of the controller, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  readonly url: string;
  readonly token: string | undefined;
  readonly timeoutMs?: number;
}

/** A parsed response plus the JSON exactly as the controller sent it (for `--json`). */
export interface ApiResult<T> {
  readonly data: T;
  readonly raw: unknown;
}

export type QueryValue = string | number | boolean | undefined;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The controller's REST API over fetch; every failure becomes a CliError with the right exit code. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly options: ApiClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new CliError(EXIT.usage, `the controller URL ${JSON.stringify(options.url)} is not a URL (use --url or FLOATLEASE_URL, e.g. http://127.0.0.1:8080)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new CliError(EXIT.usage, `the controller URL must start with http:// or https://, not ${parsed.protocol}`);
    }
    if (parsed.username || parsed.password) {
      throw new CliError(EXIT.usage, 'the controller URL must not contain a user name or password; pass the API token with --token or FLOATLEASE_TOKEN');
    }
    this.base = parsed.toString().replace(/\/+$/, '');
  }

  get<S extends z.ZodType>(path: string, schema: S, query: Record<string, QueryValue> = {}): Promise<ApiResult<z.infer<S>>> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return this.request('GET', qs ? `${path}?${qs}` : path, schema);
  }

  send<S extends z.ZodType>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, schema: S, body?: unknown): Promise<ApiResult<z.infer<S>>> {
    return this.request(method, path, schema, body);
  }

  private async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<ApiResult<z.infer<S>>> {
    const token = this.options.token;
    if (!token) throw new CliError(EXIT.auth, 'no API token: pass --token or set FLOATLEASE_TOKEN');
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    const json = parseJson(text);
    if (!res.ok) throw this.refusal(res.status, json, method, path);
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? ` (${describeIssue(first)})` : '';
      throw new CliError(EXIT.failure, `unexpected response from ${method} ${path}${where}; is ${this.base} a floatlease controller of a matching version?`);
    }
    return { data: parsed.data, raw: json };
  }

  private unreachable(err: unknown): CliError {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
    const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const why = timedOut ? 'no answer in time' : (code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
    if (timedOut || (code !== undefined && NETWORK_CODES.has(code)) || err instanceof TypeError) {
      return new CliError(EXIT.unreachable, `cannot reach the controller at ${this.base} (${why}); check --url or FLOATLEASE_URL`);
    }
    return new CliError(EXIT.failure, `request to ${this.base} failed: ${why}`);
  }

  private refusal(status: number, json: unknown, method: string, path: string): CliError {
    const problem = problemSchema.safeParse(json);
    if (!problem.success) {
      const hint = status === 404 ? `; is ${this.base} a floatlease controller?` : '';
      const p: ProblemLike = { type: 'about:blank', title: `HTTP ${status}`, status, detail: `HTTP ${status} from ${method} ${path}${hint}`, name: 'cli-http' };
      return new CliError(exitCodeFor(status, undefined), p.detail ?? `HTTP ${status}`, p);
    }
    const p = problem.data;
    const code = exitCodeFor(status, p.name);
    const detail = flagNames(p.detail ?? p.title);
    const prefix = status === 401 ? 'authentication failed: ' : status === 403 ? 'not allowed: ' : '';
    const suffix =
      status === 401 ? ' (check --token or FLOATLEASE_TOKEN)' : detail.startsWith('no route for') ? ` (is ${this.base} the controller's base URL?)` : '';
    return new CliError(code, `${prefix}${detail}${suffix}`, p);
  }
}

/** Request body fields as the CLI's flags, so `body.leaseTtlSeconds: …` reads `--ttl: …`. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  name: '--name',
  description: '--description',
  leaseTtlSeconds: '--ttl',
  reclaim: '--reclaim',
  disconnectGraceSeconds: '--disconnect-grace',
  overdraftFactor: '--overdraft',
  alarmRaiseRatio: '--alarm-raise',
  alarmClearRatio: '--alarm-clear',
  seats: '--seats',
  expiresAt: '--expires',
  label: '--label',
  tags: '--tags',
  connections: '--connections',
  plugins: '--plugins',
  role: '--role',
};

function flagNames(detail: string): string {
  return detail.replace(/^body\.(\w+)(?=:)/, (whole, field: string) => FLAG_OF_FIELD[field] ?? whole);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
