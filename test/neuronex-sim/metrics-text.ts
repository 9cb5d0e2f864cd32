import os from 'node:os';
import { linkState, RunningState, type SimNode } from './neuron-model.js';
import { nodeTagCount, type NeuronState } from './neuron-state.js';

type Labels = Record<string, string>;
type Sample = [Labels, number];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Prometheus text exposition: each family once, HELP and TYPE first, samples together. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, help: string, type: 'gauge' | 'counter', samples: Sample[]): this {
    if (samples.length === 0) return this;
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${value}`);
    }
    return this;
  }

  text(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}

const one = (value: number): Sample[] => [[{}, value]];

function globalMetrics(state: NeuronState, out: Exposition): void {
  const nodes = state.listNodes();
  const count = (type: 1 | 2, pred: (n: SimNode) => boolean): number => nodes.filter((n) => n.type === type && pred(n)).length;
  const all = (): boolean => true;
  const running = (n: SimNode): boolean => n.running === RunningState.RUNNING;
  const disconnected = (n: SimNode): boolean => linkState(n) === 0;
  const memUsed = os.totalmem() - os.freemem();
  const uptime = Math.max(0, Math.floor((state.license.now().getTime() - state.startedAt.getTime()) / 1000));
  out
    .family('os_info', 'OS distro and kernel version', 'gauge', [
      [{ version: `${os.type()} ${os.release()}` }, 0],
      [{ kernel: os.release() }, 0],
    ])
    .family('cpu_percent', 'Total CPU utilisation percentage', 'gauge', one(0))
    .family('cpu_cores', 'Number of CPU cores', 'gauge', one(os.cpus().length))
    .family('mem_total_bytes', 'Total installed memory in bytes', 'gauge', one(os.totalmem()))
    .family('mem_used_bytes', 'Used memory in bytes', 'gauge', one(memUsed))
    .family('mem_cache_bytes', 'Memory buffer/cache size in bytes', 'gauge', one(0))
    .family('rss_bytes', 'RSS (Resident Set Size) in bytes', 'gauge', one(process.memoryUsage().rss))
    .family('disk_size_gibibytes', 'Disk size in gibibytes', 'gauge', one(0))
    .family('disk_used_gibibytes', 'Used disk size in gibibytes', 'gauge', one(0))
    .family('disk_avail_gibibytes', 'Available disk size in gibibytes', 'gauge', one(0))
    .family('core_dumped', 'Whether there is any core dump', 'gauge', one(0))
    .family('uptime_seconds', 'Uptime in seconds', 'counter', one(uptime))
    .family('north_nodes_total', 'Number of north nodes', 'gauge', one(count(2, all)))
    .family('north_running_nodes_total', 'Number of north nodes in running state', 'gauge', one(count(2, running)))
    .family('north_disconnected_nodes_total', 'Number of north nodes disconnected', 'gauge', one(count(2, disconnected)))
    .family('south_nodes_total', 'Number of south nodes', 'gauge', one(count(1, all)))
    .family('south_running_nodes_total', 'Number of south nodes in running state', 'gauge', one(count(1, running)))
    .family('south_disconnected_nodes_total', 'Number of south nodes disconnected', 'gauge', one(count(1, disconnected)))
    .family('license_max_tags', 'Maximum number of tags the license allows', 'gauge', one(state.license.maxTags()))
    .family('license_used_tags', 'Number of tags in use', 'gauge', one(state.tagCount()));
}

function nodeMetrics(nodes: SimNode[], out: Exposition): void {
  const drivers = nodes.filter((n) => n.type === 1);
  const perNode = (list: SimNode[], value: (n: SimNode) => number): Sample[] => list.map((n) => [{ node: n.name }, value(n)]);
  out
    .family('node_type', 'Driver(1) or APP(2)', 'gauge', perNode(nodes, (n) => n.type))
    .family('running_state', 'Node running state', 'gauge', perNode(nodes, (n) => n.running))
    .family('link_state', 'Node link state', 'gauge', perNode(nodes, linkState))
    .family('tags_total', 'Total number of tags in the node', 'gauge', perNode(drivers, nodeTagCount))
    .family(
      'group_tags_total',
      'Total number of tags in the group',
      'gauge',
      drivers.flatMap((n) => [...n.groups.values()].map((g): Sample => [{ node: n.name, group: g.name }, g.tags.size])),
    )
    .family('tag_reads_total', 'Total number of tag reads including errors', 'counter', perNode(drivers, () => 0));
}

export interface MetricsResponse {
  status: number;
  body: string;
}

/** `GET /metrics?category=global|driver|app&node=` (metric_handle.c): bad input 400, unknown node 404. */
export function renderMetrics(state: NeuronState, category: string | undefined, nodeName: string | undefined): MetricsResponse {
  if (category !== undefined && !['global', 'driver', 'app'].includes(category)) return { status: 400, body: '' };
  const wantsNode = nodeName !== undefined && nodeName !== '';
  if (wantsNode && category === 'global') return { status: 400, body: '' };
  const types: number[] = category === 'driver' ? [1] : category === 'app' ? [2] : [1, 2];
  const out = new Exposition();
  if (category === undefined || category === 'global') globalMetrics(state, out);
  if (category !== 'global') {
    let nodes = state.listNodes().filter((n) => types.includes(n.type));
    if (wantsNode) {
      nodes = nodes.filter((n) => n.name === nodeName);
      if (nodes.length === 0) return { status: 404, body: '' };
    }
    nodeMetrics(nodes, out);
  }
  return { status: 200, body: out.text() };
}
