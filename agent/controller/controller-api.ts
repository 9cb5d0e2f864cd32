import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { problemNames, type ProblemName } from '../../shared/protocol/problem.js';
import { KEY_SET_PATH } from '../../shared/protocol/key-set.js';
import { enrollResponse, leaseGrant, licenseFileLoadedAnswer, type EnrollResponse, type LeaseGrant, type LicenseFileLoaded } from '../../shared/protocol/rest.js';
import { httpsRequest, type HttpAnswer } from './https-request.js';
import { describeIssue } from '../../shared/zod-issues.js';

/** The controller answered with an error (problem+json when it could). */
export class ControllerHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemName | undefined,
    detail: string,
  ) {
    super(`controller answered ${status}${problem ? ` ${problem}` : ''}: ${detail}`);
    this.name = 'ControllerHttpError';
  }

  /** Worth retrying later: the controller is overloaded, starting, or rate-limiting us. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** No answer at all: network error, refused connection, timeout, or a reply that is not ours. */
export class ControllerUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControllerUnreachableError';
  }
}

const problemBody = z.object({ name: z.enum(problemNames).optional(), detail: z.string().optional(), title: z.string().optional() });

export interface EnrollRequest {
  readonly activationCode: string;
  readonly hardwareId: string;
  readonly name?: string;
  readonly agentVersion: string;
  /** The credential this device holds: proves possession when re-binding a live gateway. */
  readonly currentCredential?: string;
}

/** The controller's HTTP endpoints the agent uses: enrollment, the JWKS, and the pull fallback. */
export interface ControllerClient {
  enroll(body: EnrollRequest): Promise<EnrollResponse>;
  jwks(): Promise<unknown>;
  /** The vouched key set (KEY_SET_PATH); checked by the caller against the pinned keys. */
  keySet(): Promise<unknown>;
  lease(credential: string, renewal: boolean): Promise<LeaseGrant>;
  ack(credential: string, jti: string): Promise<void>;
  release(credential: string): Promise<void>;
  usage(credential: string, usage: { tags: number; connections: number }): Promise<void>;
  /** Reports an offline license file loaded here; `recorded` false: the controller had it already. */
  reportLicenseFile(credential: string, report: LicenseFileLoaded): Promise<{ recorded: boolean }>;
  /** An offline borrow of the points held (issue 21): a lease marked borrow lasting `durationSec`. */
  borrow(credential: string, durationSec: number): Promise<LeaseGrant>;
  /** The early return of a borrow: an ordinary lease, which ends the borrow once acknowledged. */
  returnBorrow(credential: string): Promise<LeaseGrant>;
  /** false when the controller refuses the credential, true when it accepts it, undefined when it cannot tell. */
  credentialAccepted(credential: string): Promise<boolean | undefined>;
}

export class ControllerApi implements ControllerClient {
  private readonly timeoutMs: number;

  /** `ca`: the CAs to trust for an https base URL (FLOATLEASE_CA_FILE plus the system CAs); unset, fetch's defaults. */
  constructor(private readonly options: { readonly baseUrl: string; readonly timeoutMs?: number; readonly ca?: readonly string[] }) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async enroll(body: EnrollRequest): Promise<EnrollResponse> {
    return answer(enrollResponse, await this.call('POST', '/api/v1/enroll', undefined, body), 'enrollment');
  }

  async jwks(): Promise<unknown> {
    return this.call('GET', '/.well-known/jwks.json');
  }

  async keySet(): Promise<unknown> {
    return this.call('GET', KEY_SET_PATH);
  }

  async lease(credential: string, renewal: boolean): Promise<LeaseGrant> {
    return answer(leaseGrant, await this.call('POST', '/api/v1/agent/lease', credential, { renewal }), 'lease');
  }

  async ack(credential: string, jti: string): Promise<void> {
    await this.call('POST', '/api/v1/agent/lease/ack', credential, { jti });
  }

  async release(credential: string): Promise<void> {
    await this.call('POST', '/api/v1/agent/lease/release', credential);
  }

  async usage(credential: string, usage: { tags: number; connections: number }): Promise<void> {
    await this.call('POST', '/api/v1/agent/usage', credential, usage);
  }

  async reportLicenseFile(credential: string, report: LicenseFileLoaded): Promise<{ recorded: boolean }> {
    return answer(licenseFileLoadedAnswer, await this.call('POST', '/api/v1/agent/license-file', credential, report), 'license file report');
  }

  async borrow(credential: string, durationSec: number): Promise<LeaseGrant> {
    return answer(leaseGrant, await this.call('POST', '/api/v1/agent/borrow', credential, { durationSec }), 'borrow');
  }

  async returnBorrow(credential: string): Promise<LeaseGrant> {
    return answer(leaseGrant, await this.call('POST', '/api/v1/agent/borrow/return', credential), 'borrow return');
  }

  /** Acknowledging a lease that never existed has no effect: 404 if the credential is good, 401 if not. */
  async credentialAccepted(credential: string): Promise<boolean | undefined> {
    try {
      await this.ack(credential, randomUUID());
      return true;
    } catch (err) {
      if (err instanceof ControllerHttpError && (err.status === 401 || err.status === 403)) return false;
      if (err instanceof ControllerHttpError && err.status === 404) return true;
      return undefined;
    }
  }

  private async call(method: string, path: string, credential?: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    const url = `${this.options.baseUrl}${path}`;
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    let res: HttpAnswer;
    try {
      if (this.options.ca && url.startsWith('https:')) {
        res = await httpsRequest(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}), timeoutMs: this.timeoutMs, ca: this.options.ca });
      } else {
        const r = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}), signal: AbortSignal.timeout(this.timeoutMs) });
        res = { ok: r.ok, status: r.status, statusText: r.statusText, text: await r.text().catch(() => '') };
      }
    } catch (err) {
      throw new ControllerUnreachableError(`${method} ${path}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    const { text } = res;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok) throw new ControllerUnreachableError(`${method} ${path}: the answer is not JSON`);
    }
    if (!res.ok) {
      const p = problemBody.safeParse(json);
      throw new ControllerHttpError(res.status, p.success ? p.data.name : undefined, (p.success ? (p.data.detail ?? p.data.title) : undefined) ?? res.statusText);
    }
    return json;
  }
}

function answer<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ControllerUnreachableError(`the ${what} answer has an unexpected shape: ${describeIssue(parsed.error.issues[0])}`);
  return parsed.data;
}
