import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_POOL_MAX, MIN_POOL_MAX } from './db/connection-budget.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const anyPort = () =>
  z.coerce
    .number({ error: 'expected a port number 0-65535' })
    .int('expected a port number 0-65535')
    .min(0, 'expected a port number 0-65535')
    .max(65535, 'expected a port number 0-65535');
const port = (fallback: number) => anyPort().default(fallback);

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number({ error: `expected ${what}` }).int(`expected ${what}`).positive(`expected ${what}`).default(fallback);

const optionalUrl = (schemes: string[], example: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || isUrlWithScheme(v, schemes), {
      message: `expected a URL such as ${example}`,
    });

function isUrlWithScheme(value: string, schemes: string[]): boolean {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Every variable the controller reads, with its default. README's table mirrors this. */
type TrustProxy = boolean | number | readonly string[];

const configSchema = z.object({
  HOST: z.string().trim().min(1, 'expected a host or IP address').default('127.0.0.1'),
  PORT: port(8080),
  // Unset: /metrics on PORT (development). Set: only on this port, so an Ingress for PORT never exposes it.
  METRICS_PORT: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), anyPort().optional()),
  PUBLIC_URL: optionalUrl(['http:', 'https:'], 'https://floatlease.example.com'),
  DATA_DIR: z.string().trim().min(1, 'expected a folder path').default('./.floatlease'),
  LOG_LEVEL: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'expected auto, json or pretty' }).default('auto'),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'postgres://user:pass@host:5432/db'),
  // The lanes of the connection budget must fit (server/db/connection-budget.ts), checked here at startup.
  DATABASE_POOL_MAX: positiveInt(DEFAULT_POOL_MAX, 'a positive whole number of connections').refine((n) => n >= MIN_POOL_MAX, {
    error: `expected at least ${MIN_POOL_MAX} connections: every lane of the connection budget needs its share`,
  }),
  EMBEDDED_PG_PORT: port(0),
  MQTT_URL: optionalUrl(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'], 'mqtt://broker:1883'),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  MQTT_EMBEDDED_HOST: z.string().trim().min(1, 'expected a host or IP address').default('127.0.0.1'),
  MQTT_EMBEDDED_PORT: port(1883),
  MQTT_DYNSEC: z.enum(['true', 'false'], { error: 'expected true or false' }).default('false'),
  MQTT_SHARED_SUBSCRIPTIONS: z.enum(['auto', 'true', 'false'], { error: 'expected auto, true or false' }).default('auto'),
  MQTT_SESSION_EXPIRY_SEC: z.coerce
    .number({ error: 'expected a whole number of seconds, 0 for a clean session' })
    .int('expected a whole number of seconds, 0 for a clean session')
    .min(0, 'expected a whole number of seconds, 0 for a clean session')
    .default(300),
  EMQX_HOOK_TOKEN: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 24, 'expected at least 24 characters (EMQX sends it in the x-emqx-hook-token header)'),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000, 'a positive number of milliseconds'),
  SIGNING_KEY_DIR: z.string().trim().optional(),
  SIGNING_KEY_KEK: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === '' || Buffer.from(v, 'base64').length === 32, 'expected 32 random bytes in base64 (openssl rand -base64 32)'),
  SIGNING_KEY_REFRESH_MS: positiveInt(2_000, 'a positive number of milliseconds'),
  TRUSTED_ISSUERS: z.string().trim().optional(),
  LEASE_ISSUER: z.string().trim().min(1, 'expected a non-empty name').default('floatlease'),
  ADMIN_TOKEN: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === '' || /^fl_[A-Za-z0-9_-]{20,}$/.test(v), 'expected fl_ followed by at least 20 URL-safe characters'),
  SWEEP_INTERVAL_MS: positiveInt(5_000, 'a positive number of milliseconds'),
  HISTORY_SAMPLE_MS: positiveInt(60_000, 'a positive number of milliseconds'),
  /** Elastic allocations, pending timeouts and pre-emption are reviewed this often (issue 21). */
  ELASTIC_INTERVAL_MS: positiveInt(5_000, 'a positive number of milliseconds'),
  RECLAIM_SKEW_MARGIN_SEC: z.coerce
    .number({ error: 'expected whole seconds 0-3600' })
    .int('expected whole seconds 0-3600')
    .min(0, 'expected whole seconds 0-3600')
    .max(3600, 'expected whole seconds 0-3600')
    .default(5),
  HELLO_ROUND_WINDOW_MS: positiveInt(15_000, 'a positive number of milliseconds'),
  LEASE_HISTORY_DAYS: z.coerce
    .number({ error: 'expected a whole number of days, 0 to keep ended leases forever' })
    .int('expected a whole number of days, 0 to keep ended leases forever')
    .min(0, 'expected a whole number of days, 0 to keep ended leases forever')
    .max(3650, 'at most 3650 days')
    .default(7),
  /** Usage samples (the what-if replay's usage history) older than this are deleted; 0 keeps them. */
  USAGE_HISTORY_DAYS: z.coerce
    .number({ error: 'expected a whole number of days, 0 to keep usage samples forever' })
    .int('expected a whole number of days, 0 to keep usage samples forever')
    .min(0, 'expected a whole number of days, 0 to keep usage samples forever')
    .max(3650, 'at most 3650 days')
    .default(31),
  ENROLL_FAILURES_PER_MINUTE: positiveInt(10, 'a positive whole number'),
  AUTH_FAILURES_PER_MINUTE: positiveInt(30, 'a positive whole number'),
  REPLICAS: positiveInt(1, 'a positive whole number of controller replicas'),
  REPLICA_ID: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === '' || /^[A-Za-z0-9._-]{1,64}$/.test(v), 'expected 1-64 letters, digits, dots, dashes or underscores (e.g. the pod name)'),
  REPLICA_HEARTBEAT_MS: positiveInt(2_000, 'a positive number of milliseconds'),
  REPLICA_TIMEOUT_MS: positiveInt(6_000, 'a positive number of milliseconds'),
  /**
   * Which proxies' X-Forwarded-For to believe (express "trust proxy"): false (default: none, the
   * client address is the socket's), true (any: only behind a proxy that overwrites the header),
   * a hop count, or a comma-separated list of addresses/CIDRs (loopback, uniquelocal, … allowed).
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .default('false')
    .transform((v, ctx): TrustProxy => {
      if (v === 'false' || v === '') return false;
      if (v === 'true') return true;
      if (/^\d+$/.test(v)) return Number(v);
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.find((s) => !/^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(s));
      if (bad !== undefined || list.length === 0) {
        ctx.addIssue({ code: 'custom', message: `expected false, true, a hop count or addresses/CIDRs; got ${bad ?? v}` });
        return z.NEVER;
      }
      return list;
    }),
  OIDC_ISSUER: optionalUrl(['http:', 'https:'], 'https://login.example.com/realms/ops'),
  OIDC_AUDIENCE: z.string().trim().optional(),
  OIDC_JWKS_URL: optionalUrl(['http:', 'https:'], 'https://login.example.com/realms/ops/protocol/openid-connect/certs'),
  OIDC_ROLE_CLAIM: z.string().trim().min(1).default('floatlease_role'),
  OIDC_DEFAULT_ROLE: z.enum(['viewer', 'operator', 'admin'], { error: 'expected viewer, operator or admin' }).default('viewer'),
});

type RawConfig = z.infer<typeof configSchema>;

export interface Config {
  readonly http: { readonly host: string; readonly port: number; readonly publicUrl: string | undefined };
  /** undefined: /metrics is served on the HTTP port; a number (0 = free): its own listener on http.host. */
  readonly metricsPort: number | undefined;
  readonly dataDir: string;
  readonly log: { readonly level: RawConfig['LOG_LEVEL']; readonly format: RawConfig['LOG_FORMAT'] };
  readonly database: {
    readonly url: string | undefined;
    readonly poolMax: number;
    readonly embeddedPort: number;
  };
  readonly mqtt: {
    readonly url: string | undefined;
    readonly username: string | undefined;
    readonly password: string | undefined;
    readonly embeddedHost: string;
    readonly embeddedPort: number;
    /** undefined = auto: on for an external broker, off for the embedded one (aedes has no $share). */
    readonly sharedSubscriptions: boolean | undefined;
    /** Provision gateway credentials in Mosquitto's dynamic-security plugin (external broker only). */
    readonly dynsec: boolean;
    /** Set: the EMQX HTTP authentication/authorization endpoints answer requests bearing it. */
    readonly emqxHookToken: string | undefined;
    /** MQTT 5 session expiry of the controller's connection (client id floatlease-controller-<replica id>). */
    readonly sessionExpirySec: number;
  };
  readonly shutdownTimeoutMs: number;
  /**
   * Several replicas share the database and broker (server/replicas). `id` is stable across restarts
   * when REPLICA_ID (e.g. the pod name) is set: it is the MQTT client id of a persistent session.
   */
  readonly replicas: { readonly count: number; readonly id: string; readonly heartbeatMs: number; readonly timeoutMs: number };
  readonly signingKeyDir: string;
  /** Set: signing keys live in the database, sealed with this key-encryption key, shared by every replica. */
  readonly signingKeyKek: string | undefined;
  /** How often a replica reloads the shared keys: the bound on a rotation reaching every replica. */
  readonly signingKeyRefreshMs: number;
  /** Files holding trusted pool-license issuer keys (JWK or JWKS JSON). */
  readonly trustedIssuerFiles: readonly string[];
  readonly leaseIssuer: string;
  readonly adminToken: string | undefined;
  readonly sweepIntervalMs: number;
  /** How often the usage history (server/history/) samples the fleet. */
  readonly historySampleMs: number;
  readonly elasticIntervalMs: number;
  /**
   * reclaim on-disconnect: points return this long after the lease's grace has run out since the
   * controller lost the agent, for the agent's timers and clock rate (it stops at the grace).
   */
  readonly reclaimSkewMarginSec: number;
  /**
   * External broker: at start the controller asks every gateway shown online over MQTT to say hello
   * again; those that have not within this window are marked offline (ghost online).
   */
  readonly helloRoundWindowMs: number;
  /** Ended leases older than this are deleted (each gateway keeps its latest); 0 keeps them all. */
  readonly leaseHistoryDays: number;
  /** Usage samples older than this are deleted (the replay's look-back); 0 keeps them all. */
  readonly usageHistoryDays: number;
  readonly rateLimits: { readonly enrollFailuresPerMinute: number; readonly authFailuresPerMinute: number };
  /** express "trust proxy"; also decides the address MQTT-over-WS/Socket.IO logins are counted under. */
  readonly trustProxy: TrustProxy;
  readonly oidc:
    | {
        readonly issuer: string;
        readonly audience: string;
        readonly jwksUrl: string | undefined;
        readonly roleClaim: string;
        readonly defaultRole: 'viewer' | 'operator' | 'admin';
      }
    | undefined;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, readonly expected: string) {
    super(`invalid configuration: ${variable} ${expected}`);
    this.name = 'ConfigError';
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/** Parses the environment once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(variable, `(${JSON.stringify(env[variable] ?? '')}): ${issue?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.DATA_DIR);
  if (c.REPLICAS > 1 && !c.DATABASE_URL) throw new ConfigError('DATABASE_URL', `(""): the embedded PostgreSQL serves one replica; set DATABASE_URL when REPLICAS is ${c.REPLICAS}`);
  if (c.REPLICAS > 1 && !c.MQTT_URL) throw new ConfigError('MQTT_URL', `(""): the embedded broker serves one replica; set MQTT_URL when REPLICAS is ${c.REPLICAS}`);
  if (c.REPLICAS > 1 && !c.SIGNING_KEY_KEK) throw new ConfigError('SIGNING_KEY_KEK', `(""): replicas must share their signing keys; set a key-encryption key when REPLICAS is ${c.REPLICAS}`);
  if (c.REPLICA_TIMEOUT_MS <= c.REPLICA_HEARTBEAT_MS) throw new ConfigError('REPLICA_TIMEOUT_MS', `(${c.REPLICA_TIMEOUT_MS}): expected more than REPLICA_HEARTBEAT_MS (${c.REPLICA_HEARTBEAT_MS})`);
  if (c.OIDC_ISSUER && !c.OIDC_AUDIENCE) throw new ConfigError('OIDC_AUDIENCE', '(""): expected the audience your OIDC tokens carry when OIDC_ISSUER is set');
  return deepFreeze({
    http: { host: c.HOST, port: c.PORT, publicUrl: c.PUBLIC_URL },
    metricsPort: c.METRICS_PORT,
    dataDir,
    log: { level: c.LOG_LEVEL, format: c.LOG_FORMAT },
    database: { url: c.DATABASE_URL, poolMax: c.DATABASE_POOL_MAX, embeddedPort: c.EMBEDDED_PG_PORT },
    mqtt: {
      url: c.MQTT_URL,
      username: c.MQTT_USERNAME,
      password: c.MQTT_PASSWORD,
      embeddedHost: c.MQTT_EMBEDDED_HOST,
      embeddedPort: c.MQTT_EMBEDDED_PORT,
      sharedSubscriptions: c.MQTT_SHARED_SUBSCRIPTIONS === 'auto' ? undefined : c.MQTT_SHARED_SUBSCRIPTIONS === 'true',
      dynsec: c.MQTT_DYNSEC === 'true' && c.MQTT_URL !== undefined,
      emqxHookToken: c.EMQX_HOOK_TOKEN || undefined,
      // A session is only found again under the same client id: persistent only with REPLICA_ID set.
      sessionExpirySec: c.REPLICA_ID ? c.MQTT_SESSION_EXPIRY_SEC : 0,
    },
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    replicas: {
      count: c.REPLICAS,
      id: c.REPLICA_ID || `${os.hostname().slice(0, 40)}-${crypto.randomBytes(4).toString('hex')}`,
      heartbeatMs: c.REPLICA_HEARTBEAT_MS,
      timeoutMs: c.REPLICA_TIMEOUT_MS,
    },
    signingKeyDir: path.resolve(c.SIGNING_KEY_DIR || path.join(dataDir, 'keys')),
    signingKeyKek: c.SIGNING_KEY_KEK || undefined,
    signingKeyRefreshMs: c.SIGNING_KEY_REFRESH_MS,
    trustedIssuerFiles: (c.TRUSTED_ISSUERS ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean)
      .map((f) => path.resolve(f)),
    leaseIssuer: c.LEASE_ISSUER,
    adminToken: c.ADMIN_TOKEN || undefined,
    sweepIntervalMs: c.SWEEP_INTERVAL_MS,
    historySampleMs: c.HISTORY_SAMPLE_MS,
    elasticIntervalMs: c.ELASTIC_INTERVAL_MS,
    reclaimSkewMarginSec: c.RECLAIM_SKEW_MARGIN_SEC,
    helloRoundWindowMs: c.HELLO_ROUND_WINDOW_MS,
    leaseHistoryDays: c.LEASE_HISTORY_DAYS,
    usageHistoryDays: c.USAGE_HISTORY_DAYS,
    rateLimits: { enrollFailuresPerMinute: c.ENROLL_FAILURES_PER_MINUTE, authFailuresPerMinute: c.AUTH_FAILURES_PER_MINUTE },
    trustProxy: c.TRUST_PROXY,
    oidc: c.OIDC_ISSUER
      ? { issuer: c.OIDC_ISSUER, audience: c.OIDC_AUDIENCE!, jwksUrl: c.OIDC_JWKS_URL, roleClaim: c.OIDC_ROLE_CLAIM, defaultRole: c.OIDC_DEFAULT_ROLE }
      : undefined,
  });
}
