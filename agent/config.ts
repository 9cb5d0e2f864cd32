import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { parseExtraRoutes, type ExtraRoute } from './neuronex/neuron-routes.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TRANSPORT_NAMES = ['mqtt', 'ws'] as const;
export type TransportName = (typeof TRANSPORT_NAMES)[number];

const url = (schemes: string[], example: string, fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => hasScheme(v, schemes), { message: `expected a URL such as ${example}` })
    .transform((v) => v.replace(/\/+$/, ''));

function hasScheme(value: string, schemes: string[]): boolean {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const wholeNumber = (fallback: number, min: number, max: number, what: string) =>
  z.coerce.number({ error: `expected ${what}` }).int(`expected ${what}`).min(min, `expected ${what}`).max(max, `expected ${what}`).default(fallback);

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `at most ${max} characters`)
    .optional()
    .transform((v) => (v === '' ? undefined : v));

/** Every variable the agent reads, with its default. README's agent table mirrors this. */
const agentConfigSchema = z.object({
  FLOATLEASE_CONTROLLER_URL: url(['http:', 'https:'], 'http://controller:8080', 'http://127.0.0.1:8080'),
  FLOATLEASE_MQTT_URL: url(['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'], 'mqtt://broker:1883', 'mqtt://127.0.0.1:1883'),
  FLOATLEASE_TRANSPORT: z
    .string()
    .trim()
    .default('mqtt,ws')
    .transform((v) => v.split(',').map((t) => t.trim().toLowerCase()))
    .refine((list) => list.length > 0 && list.every((t) => (TRANSPORT_NAMES as readonly string[]).includes(t)) && new Set(list).size === list.length, {
      message: 'expected mqtt, ws, or both in order of preference (mqtt,ws)',
    })
    .transform((list) => list as TransportName[]),
  FLOATLEASE_ACTIVATION_CODE: optionalText(200),
  FLOATLEASE_STATE_DIR: z.string().trim().min(1, 'expected a folder path').default('./.floatlease-agent'),
  FLOATLEASE_CA_FILE: optionalText(1000),
  FLOATLEASE_HARDWARE_ID: optionalText(500),
  FLOATLEASE_GATEWAY_NAME: optionalText(100),
  FLOATLEASE_CLOCK_SKEW_SEC: wholeNumber(30, 0, 3600, 'whole seconds 0-3600'),
  FLOATLEASE_GUARD_SAVE_SEC: wholeNumber(5, 1, 3600, 'whole seconds 1-3600'),
  FLOATLEASE_HTTP_HOST: z.string().trim().min(1, 'expected a host or IP address').default('127.0.0.1'),
  FLOATLEASE_HTTP_PORT: wholeNumber(8086, 0, 65535, 'a port number 0-65535'),
  FLOATLEASE_MQTT_KEEPALIVE_SEC: wholeNumber(30, 1, 3600, 'whole seconds 1-3600'),
  FLOATLEASE_FAILOVER_AFTER_SEC: wholeNumber(5, 1, 600, 'whole seconds 1-600'),
  FLOATLEASE_GATEWAY_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v?.replace(/\/+$/, '')))
    .refine((v) => v === undefined || hasScheme(v, ['http:', 'https:']), { message: 'expected the gateway API origin such as http://127.0.0.1:7000' }),
  FLOATLEASE_GATEWAY_API_PREFIX: z.string().trim().default('/api/v2'),
  FLOATLEASE_GATEWAY_USER: z.string().default('admin'),
  FLOATLEASE_GATEWAY_PASSWORD: z.string().default('0000'),
  FLOATLEASE_PROXY_HOST: z.string().trim().min(1, 'expected a host or IP address').default('127.0.0.1'),
  FLOATLEASE_PROXY_PORT: wholeNumber(8087, 0, 65535, 'a port number 0-65535'),
  FLOATLEASE_USAGE_INTERVAL_SEC: wholeNumber(10, 1, 3600, 'whole seconds 1-3600'),
  FLOATLEASE_OVER_LIMIT_POLICY: z.enum(['block-new', 'stop-excess'], { error: 'expected block-new or stop-excess' }).default('block-new'),
  FLOATLEASE_FREE_PLUGINS: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.split(',').map((p) => p.trim()).filter(Boolean))),
  FLOATLEASE_LOCAL_TOKEN: optionalText(200),
  FLOATLEASE_TRIAL_EXCLUDED_PLUGINS: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.split(',').map((p) => p.trim()).filter(Boolean))),
  FLOATLEASE_PROXY_ALLOW_ROUTES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = v === undefined || v.trim() === '' ? [] : v.split(',').map((r) => r.trim()).filter(Boolean);
      try {
        return parseExtraRoutes(list);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  LOG_LEVEL: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'expected auto, json or pretty' }).default('auto'),
});

type Variable = keyof z.input<typeof agentConfigSchema>;

/** Each variable's command-line flag; a flag wins over the variable. */
const FLAGS: Record<Variable, { flag: string; description: string }> = {
  FLOATLEASE_CONTROLLER_URL: { flag: '--controller-url <url>', description: 'controller base URL' },
  FLOATLEASE_MQTT_URL: { flag: '--mqtt-url <url>', description: 'MQTT broker URL' },
  FLOATLEASE_TRANSPORT: { flag: '--transport <list>', description: 'mqtt, ws or mqtt,ws (preferred first)' },
  FLOATLEASE_ACTIVATION_CODE: { flag: '--activation-code <code>', description: 'activation code to enroll with' },
  FLOATLEASE_STATE_DIR: { flag: '--state-dir <dir>', description: 'folder for the credential and last lease' },
  FLOATLEASE_CA_FILE: { flag: '--ca-file <file>', description: 'PEM file of the CA(s) that sign the controller\'s and broker\'s TLS certificates (https, wss, mqtts), added to the system CAs' },
  FLOATLEASE_HARDWARE_ID: { flag: '--hardware-id <id>', description: 'hardware identifier override' },
  FLOATLEASE_GATEWAY_NAME: { flag: '--gateway-name <name>', description: 'name to enroll under' },
  FLOATLEASE_CLOCK_SKEW_SEC: { flag: '--clock-skew-sec <sec>', description: 'tolerated clock skew for nbf/exp' },
  FLOATLEASE_GUARD_SAVE_SEC: { flag: '--guard-save-sec <sec>', description: 'how often the time floor is saved (a restart loses at most this plus the downtime)' },
  FLOATLEASE_HTTP_HOST: { flag: '--http-host <host>', description: 'local API address' },
  FLOATLEASE_HTTP_PORT: { flag: '--http-port <port>', description: 'local API port (0 = any free port)' },
  FLOATLEASE_MQTT_KEEPALIVE_SEC: { flag: '--mqtt-keepalive-sec <sec>', description: 'MQTT keepalive' },
  FLOATLEASE_FAILOVER_AFTER_SEC: { flag: '--failover-after-sec <sec>', description: 'how long MQTT may be down before WebSocket takes over' },
  FLOATLEASE_GATEWAY_URL: { flag: '--gateway-url <url>', description: 'the gateway API origin to enforce (unset: no NeuronEX enforcement)' },
  FLOATLEASE_GATEWAY_API_PREFIX: { flag: '--gateway-api-prefix <path>', description: 'Neuron API prefix on the gateway (/api/v2, or /api/neuron on NeuronEX)' },
  FLOATLEASE_GATEWAY_USER: { flag: '--gateway-user <name>', description: 'gateway API user for usage reads' },
  FLOATLEASE_GATEWAY_PASSWORD: { flag: '--gateway-password <pass>', description: 'gateway API password for usage reads' },
  FLOATLEASE_PROXY_HOST: { flag: '--proxy-host <host>', description: 'gatekeeping proxy address' },
  FLOATLEASE_PROXY_PORT: { flag: '--proxy-port <port>', description: 'gatekeeping proxy port (0 = any free port)' },
  FLOATLEASE_USAGE_INTERVAL_SEC: { flag: '--usage-interval-sec <sec>', description: 'how often the gateway usage is read' },
  FLOATLEASE_OVER_LIMIT_POLICY: { flag: '--over-limit-policy <policy>', description: 'block-new or stop-excess' },
  FLOATLEASE_FREE_PLUGINS: { flag: '--free-plugins <list>', description: 'plugins that need no license (comma-separated)' },
  FLOATLEASE_LOCAL_TOKEN: { flag: '--local-token <token>', description: 'local admin token for activation on the license page (default: generated into the state folder)' },
  FLOATLEASE_TRIAL_EXCLUDED_PLUGINS: { flag: '--trial-excluded-plugins <list>', description: 'plugins the trial allowance excludes, * = any text (default *CNC*,*FOCAS*,*SINUMERIK*)' },
  FLOATLEASE_PROXY_ALLOW_ROUTES: { flag: '--proxy-allow-routes <list>', description: 'extra mutating routes the proxy passes, e.g. "POST /api/foo,PUT /api/bar/*"' },
  LOG_LEVEL: { flag: '--log-level <level>', description: 'fatal, error, warn, info, debug, trace, silent' },
  LOG_FORMAT: { flag: '--log-format <format>', description: 'auto, json or pretty' },
};

type Raw = z.output<typeof agentConfigSchema>;

export interface AgentConfig {
  readonly controllerUrl: string;
  readonly mqttUrl: string;
  /** In order of preference: the first is primary, the next its fallback. */
  readonly transports: readonly TransportName[];
  readonly activationCode: string | undefined;
  readonly localToken: string | undefined;
  readonly stateDir: string;
  /** PEM CA bundle trusted for https://, wss:// and mqtts:// besides the system CAs. */
  readonly caFile: string | undefined;
  readonly hardwareIdOverride: string | undefined;
  readonly gatewayName: string | undefined;
  readonly clockSkewSec: number;
  readonly guardSaveSec: number;
  readonly http: { readonly host: string; readonly port: number };
  readonly mqttKeepaliveSec: number;
  readonly failoverAfterMs: number;
  /** NeuronEX enforcement; undefined when no gateway URL is configured. */
  readonly gateway:
    | {
        readonly url: string;
        readonly apiPrefix: string;
        readonly username: string;
        readonly password: string;
        readonly proxy: { readonly host: string; readonly port: number };
        readonly usageIntervalMs: number;
        readonly policy: 'block-new' | 'stop-excess';
        readonly freePlugins: readonly string[] | undefined;
        readonly trialExcludedPlugins: readonly string[] | undefined;
        readonly extraRoutes: readonly ExtraRoute[];
      }
    | undefined;
  readonly log: { readonly level: Raw['LOG_LEVEL']; readonly format: Raw['LOG_FORMAT'] };
}

export class AgentConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`invalid configuration: ${variable} ${expected}`);
    this.name = 'AgentConfigError';
  }
}

/** Thrown after commander printed --help; the process should exit 0. */
export class HelpShown extends Error {}

/** The flag values by variable name. */
function parseFlags(argv: readonly string[]): Partial<Record<Variable, string>> {
  const program = new Command('floatlease-agent')
    .description('floatlease agent sidecar: holds a floating license (lease) for one gateway')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  const keys = new Map<string, Variable>();
  for (const [variable, { flag, description }] of Object.entries(FLAGS) as [Variable, (typeof FLAGS)[Variable]][]) {
    const option = program.createOption(flag, `${description} (${variable})`);
    keys.set(option.attributeName(), variable);
    program.addOption(option);
  }
  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.code === 'commander.helpDisplayed') throw new HelpShown();
    if (err instanceof CommanderError) throw new AgentConfigError('command line', `(${JSON.stringify(argv.join(' '))}): ${err.message.replace(/^error: /, '')}`);
    throw err;
  }
  const out: Partial<Record<Variable, string>> = {};
  for (const [attr, value] of Object.entries(program.opts<Record<string, string>>())) {
    const variable = keys.get(attr);
    if (variable && value !== undefined) out[variable] = value;
  }
  return out;
}

/** Parses environment and flags once; throws AgentConfigError naming the first bad setting. */
export function loadAgentConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const flags = parseFlags(argv);
  const input: Record<string, string | undefined> = {};
  for (const variable of Object.keys(FLAGS) as Variable[]) input[variable] = flags[variable] ?? env[variable];
  const parsed = agentConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment') as Variable;
    const name = flags[variable] !== undefined ? `${FLAGS[variable].flag.split(' ')[0]} (${variable})` : variable;
    throw new AgentConfigError(name, `(${JSON.stringify(input[variable] ?? '')}): ${issue?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  return deepFreeze({
    controllerUrl: c.FLOATLEASE_CONTROLLER_URL,
    mqttUrl: c.FLOATLEASE_MQTT_URL,
    transports: c.FLOATLEASE_TRANSPORT,
    activationCode: c.FLOATLEASE_ACTIVATION_CODE,
    localToken: c.FLOATLEASE_LOCAL_TOKEN,
    stateDir: path.resolve(c.FLOATLEASE_STATE_DIR),
    caFile: c.FLOATLEASE_CA_FILE === undefined ? undefined : path.resolve(c.FLOATLEASE_CA_FILE),
    hardwareIdOverride: c.FLOATLEASE_HARDWARE_ID,
    gatewayName: c.FLOATLEASE_GATEWAY_NAME,
    clockSkewSec: c.FLOATLEASE_CLOCK_SKEW_SEC,
    guardSaveSec: c.FLOATLEASE_GUARD_SAVE_SEC,
    http: { host: c.FLOATLEASE_HTTP_HOST, port: c.FLOATLEASE_HTTP_PORT },
    mqttKeepaliveSec: c.FLOATLEASE_MQTT_KEEPALIVE_SEC,
    failoverAfterMs: c.FLOATLEASE_FAILOVER_AFTER_SEC * 1000,
    gateway: c.FLOATLEASE_GATEWAY_URL
      ? {
          url: c.FLOATLEASE_GATEWAY_URL,
          apiPrefix: c.FLOATLEASE_GATEWAY_API_PREFIX,
          username: c.FLOATLEASE_GATEWAY_USER,
          password: c.FLOATLEASE_GATEWAY_PASSWORD,
          proxy: { host: c.FLOATLEASE_PROXY_HOST, port: c.FLOATLEASE_PROXY_PORT },
          usageIntervalMs: c.FLOATLEASE_USAGE_INTERVAL_SEC * 1000,
          policy: c.FLOATLEASE_OVER_LIMIT_POLICY,
          freePlugins: c.FLOATLEASE_FREE_PLUGINS,
          trialExcludedPlugins: c.FLOATLEASE_TRIAL_EXCLUDED_PLUGINS,
          extraRoutes: c.FLOATLEASE_PROXY_ALLOW_ROUTES,
        }
      : undefined,
    log: { level: c.LOG_LEVEL, format: c.LOG_FORMAT },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
