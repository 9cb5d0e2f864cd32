import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { SimAuth } from './auth.js';
import { coreRouter, type CoreApiContext } from './core-api.js';
import { latency } from './http-util.js';
import { LicenseState } from './license-state.js';
import { FREE_ALLOWANCE, NEVER_EXPIRES, type LicenseTerms } from './license-terms.js';
import { NeuronState } from './neuron-state.js';
import { neuronExRouter } from './neuronex-api.js';
import { DEFAULT_PLUGINS, type PluginInfo } from './plugins.js';

const SIM_HOST = '127.0.0.1';
/** The north node NeuronEX creates at install for its data processing (eKuiper). */
const NEURONEX_DATA_PROCESSING_NODE = 'DataProcessing';

export interface NeuronSimulatorOptions {
  /** Neuron core port (`/api/v2`); 0 (default) picks a free port. */
  corePort?: number;
  /** NeuronEX port (`/api/login`, `/api/license*`, `/api/neuron/*`); 0 (default) picks a free port. */
  exPort?: number;
  /** Login credentials; default admin / 0000. */
  username?: string;
  password?: string;
  /** Like `disable_auth` in neuron.json: no token needed anywhere. */
  disableAuth?: boolean;
  /** Delay added to every request, in milliseconds (changeable later with `setLatency`). */
  latencyMs?: number;
  /** The gateway's own license; defaults are NeuronEX's free allowance (30 tags, 30 connections). */
  maxTags?: number;
  maxNodes?: number;
  /** Commercial plugins the license enables (open-source plugins are always allowed). */
  enabledPlugins?: string[];
  licenseType?: 'TRIAL' | 'OFFCIAL';
  licenseStart?: Date;
  licenseExpiry?: Date;
  customerName?: string;
  /** Shown by `/hwtoken` and the license views; default a random base64 SHA-256 (44 chars). '' = Docker. */
  hardwareToken?: string;
  /** Plugin catalogue; default `DEFAULT_PLUGINS`. */
  plugins?: readonly PluginInfo[];
  /** Reported by `GET /version`. */
  version?: string;
  /**
   * NeuronEX mode, as NeuronEX 3.x ships: the default north node `DataProcessing` (eKuiper) exists,
   * login is only NeuronEX's `POST /api/login {name,password}` on the NeuronEX port.
   */
  neuronex?: boolean;
  /** Clock for license validity and uptime; default the system clock. */
  now?: () => Date;
}

export interface NeuronSimulator {
  /** e.g. http://127.0.0.1:7000 (the API lives under `/api/v2`). */
  readonly coreUrl: string;
  /** e.g. http://127.0.0.1:8085 (the API lives under `/api`). */
  readonly exUrl: string;
  readonly state: NeuronState;
  /** Every request that reached the simulator, as `METHOD /path` (both ports), oldest first. */
  readonly requests: readonly string[];
  /** A valid core token without an HTTP round trip. */
  coreToken(): Promise<string>;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

function randomHardwareToken(): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64');
}

function baseLicense(opts: NeuronSimulatorOptions, now: Date): LicenseTerms {
  return {
    type: opts.licenseType ?? 'TRIAL',
    maxTags: opts.maxTags ?? FREE_ALLOWANCE.maxTags,
    maxNodes: opts.maxNodes ?? FREE_ALLOWANCE.maxNodes,
    enabledPlugins: [...(opts.enabledPlugins ?? [])],
    startDate: opts.licenseStart ?? now,
    expiredDate: opts.licenseExpiry ?? NEVER_EXPIRES,
    customerName: opts.customerName ?? '',
    customerContact: '',
    officialEmail: '',
  };
}

function listen(app: Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, SIM_HOST);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets from fetch would otherwise hold close() open.
    server.closeAllConnections();
  });
}

function urlOf(server: Server): string {
  return `http://${SIM_HOST}:${(server.address() as AddressInfo).port}`;
}

/** Starts a NeuronEX gateway simulator: two HTTP servers on 127.0.0.1 sharing one state. */
export async function startNeuronSimulator(opts: NeuronSimulatorOptions = {}): Promise<NeuronSimulator> {
  const clock = opts.now ?? (() => new Date());
  const base = baseLicense(opts, clock());
  const license = new LicenseState(base, opts.hardwareToken ?? randomHardwareToken(), clock);
  const state = new NeuronState(license, opts.plugins ?? DEFAULT_PLUGINS);
  const auth = new SimAuth({
    username: opts.username ?? 'admin',
    password: opts.password ?? '0000',
    disableAuth: opts.disableAuth ?? false,
  });
  const ctx: CoreApiContext = { state, auth, version: opts.version ?? '3.6.0', defaultMaxNodes: base.maxNodes, neuronexMode: opts.neuronex ?? false };
  if (opts.neuronex) state.addNode({ name: NEURONEX_DATA_PROCESSING_NODE, plugin: 'eKuiper', params: {} });
  let latencyMs = opts.latencyMs ?? 0;

  const requests: string[] = [];
  const record: express.RequestHandler = (req, _res, next) => {
    requests.push(`${req.method} ${req.path}`);
    next();
  };
  const coreApp = express();
  coreApp.disable('x-powered-by');
  coreApp.use(record);
  coreApp.use(latency(() => latencyMs));
  coreApp.use('/api/v2', coreRouter(ctx));

  const exApp = express();
  exApp.disable('x-powered-by');
  exApp.use(record);
  exApp.use(latency(() => latencyMs));
  exApp.use(neuronExRouter(ctx));

  const core = await listen(coreApp, opts.corePort ?? 0);
  let ex: Server;
  try {
    ex = await listen(exApp, opts.exPort ?? 0);
  } catch (err) {
    await closeServer(core);
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    coreUrl: urlOf(core),
    exUrl: urlOf(ex),
    state,
    requests,
    coreToken: () => auth.issueCoreToken(),
    setLatency: (ms: number) => {
      latencyMs = Math.max(0, ms);
    },
    close: () => {
      closing ??= Promise.all([closeServer(core), closeServer(ex)]).then(() => undefined);
      return closing;
    },
  };
}
