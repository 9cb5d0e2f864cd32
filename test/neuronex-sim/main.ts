import { parseArgs } from 'node:util';
import { startNeuronSimulator, type NeuronSimulatorOptions } from './neuron-simulator.js';

const USAGE = `Usage: node --import tsx test/neuronex-sim/main.ts [options]
  --core-port N         Neuron core port (/api/v2), 0 = free port (default 0)
  --ex-port N           NeuronEX port (/api/login, /api/license*, /api/neuron/*), 0 = free port (default 0)
  --hardware-token S    hardware token ('' = Docker, default random)
  --max-tags N          licensed tags (default 30)
  --max-nodes N         licensed connections (default 30)
  --plugins A,B         commercial plugins the license enables (default none)
  --license-expiry D    license end, "YYYY-MM-DD hh:mm:ss" UTC or ISO (default never)
  --username S          login name (default admin)
  --password S          login password (default 0000)
  --disable-auth        no token needed
  --latency-ms N        delay added to every request (default 0)`;

function nonNegativeInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer, got "${raw}"`);
  return n;
}

function toOptions(argv: string[]): NeuronSimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'core-port': { type: 'string' },
      'ex-port': { type: 'string' },
      'hardware-token': { type: 'string' },
      'max-tags': { type: 'string' },
      'max-nodes': { type: 'string' },
      plugins: { type: 'string' },
      'license-expiry': { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      'disable-auth': { type: 'boolean' },
      'latency-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const opts: NeuronSimulatorOptions = {
    corePort: nonNegativeInt('core-port', values['core-port']),
    exPort: nonNegativeInt('ex-port', values['ex-port']),
    maxTags: nonNegativeInt('max-tags', values['max-tags']),
    maxNodes: nonNegativeInt('max-nodes', values['max-nodes']),
    latencyMs: nonNegativeInt('latency-ms', values['latency-ms']),
    hardwareToken: values['hardware-token'],
    username: values.username,
    password: values.password,
    disableAuth: values['disable-auth'] === true,
  };
  if (values.plugins !== undefined) {
    opts.enabledPlugins = values.plugins
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
  }
  const expiry = values['license-expiry'];
  if (expiry !== undefined) {
    const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(expiry) ? `${expiry.replace(' ', 'T')}Z` : expiry;
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) throw new Error(`--license-expiry is not a date: "${expiry}"`);
    opts.licenseExpiry = new Date(ms);
  }
  return opts;
}

async function main(): Promise<void> {
  let opts: NeuronSimulatorOptions;
  try {
    opts = toOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }
  const sim = await startNeuronSimulator(opts);
  process.stdout.write(`${JSON.stringify({ coreUrl: sim.coreUrl, exUrl: sim.exUrl })}\n`);
  const stop = (): void => {
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`neuronex-sim failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
