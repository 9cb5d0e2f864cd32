import type { FleetEvent, FleetWorkerConfig, ParentToWorker, WorkerToParent } from './fleet-messages.js';
import { SimAgent } from './sim-agent.js';

/**
 * A fleet worker process (forked by the bench with an IPC channel): runs its share of simulated
 * agents and reports what they see, batched every FLUSH_MS. It exits when the parent goes away.
 */
const FLUSH_MS = 25;
const FIRST_LEASE_TIMEOUT_MS = 120_000;

const agents = new Map<number, SimAgent>();
let buffer: FleetEvent[] = [];

function send(m: WorkerToParent): void {
  if (process.connected) process.send?.(m);
}

const flusher = setInterval(() => {
  if (buffer.length === 0) return;
  const events = buffer;
  buffer = [];
  send({ type: 'events', events });
}, FLUSH_MS);

async function start(config: FleetWorkerConfig): Promise<void> {
  const queue = [...config.agents];
  const runner = async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      const agent = new SimAgent(spec, config, (e) => buffer.push(e));
      agents.set(spec.i, agent);
      await agent.start(FIRST_LEASE_TIMEOUT_MS);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.connectConcurrency, queue.length) }, runner));
}

function stop(): void {
  for (const a of agents.values()) a.close();
  clearInterval(flusher);
  if (buffer.length) send({ type: 'events', events: buffer });
  send({ type: 'stopped' });
  // Let the last IPC message and the sockets' FINs go out, then leave.
  setTimeout(() => process.exit(0), 200).unref();
}

process.on('message', (raw) => {
  const m = raw as ParentToWorker;
  switch (m.type) {
    case 'start':
      void start(m.config);
      return;
    case 'set-ack':
      for (const i of m.indices) agents.get(i)?.setAck(m.ack);
      return;
    case 'release':
      void agents
        .get(m.i)
        ?.release()
        .catch((err: unknown) => buffer.push({ kind: 'error', i: m.i, message: `release: ${String(err)}`, at: Date.now() }));
      return;
    case 'stop':
      stop();
      return;
  }
});
// Orphaned (the bench died): leave at once rather than keep thousands of sockets open.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
