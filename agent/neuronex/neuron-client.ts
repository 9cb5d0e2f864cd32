import { z } from 'zod';
import { describeIssue } from '../../shared/zod-issues.js';

export interface SouthNode {
  readonly name: string;
  readonly plugin: string;
  /** 1 init, 2 ready, 3 running, 4 stopped (Neuron's node state). */
  readonly running: number;
  readonly tags: number;
}

export interface GatewayUsage {
  readonly tags: number;
  /** South and north nodes together, as Neuron counts `used_nodes`. */
  readonly connections: number;
  /** South nodes in creation order (oldest first). */
  readonly south: readonly SouthNode[];
  readonly north: number;
}

const nodesSchema = z.object({ nodes: z.array(z.object({ name: z.string(), plugin: z.string() })) });
const groupsSchema = z.object({ groups: z.array(z.object({ driver: z.string().optional(), group: z.string().optional(), name: z.string().optional(), tag_count: z.number() })) });
const statesSchema = z.object({ states: z.array(z.object({ node: z.string(), running: z.number() })) });
const pluginsSchema = z.object({ plugins: z.array(z.object({ name: z.string() })) });
const tagsSchema = z.object({ tags: z.array(z.object({ name: z.string() })) });
const errorSchema = z.object({ error: z.number() });

class NeuronApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'NeuronApiError';
  }
}

/** The north node NeuronEX 3.x creates at install for data processing; not a licensed connection. */
const NEURONEX_DATA_PROCESSING_NODE = 'DataProcessing';

/**
 * A client of the Neuron core API (`/api/v2`, NeuronEX proxies it as `/api/neuron`): logs in with
 * its JWT and logs in again when the token lapses.
 */
export class NeuronClient {
  private token: string | undefined;

  constructor(
    private readonly opts: {
      apiBase: string;
      username: string;
      password: string;
      timeoutMs?: number;
      /**
       * NeuronEX (port 8085): log in at NeuronEX's documented `POST /api/login {name,password}`
       * (Neuron's `/login` is not part of NeuronEX's API), and do not count its built-in
       * DataProcessing node as a connection (NeuronEX ships it; a 30-connection trial leaves 30).
       */
      neuronex?: { loginUrl: string };
    },
  ) {}

  async usage(): Promise<GatewayUsage> {
    const [south, north, groups, states] = await Promise.all([
      this.get('/node?type=1', nodesSchema),
      this.get('/node?type=2', nodesSchema),
      this.get('/group', groupsSchema),
      this.get('/node/state', statesSchema),
    ]);
    const tagsByDriver = new Map<string, number>();
    for (const g of groups.groups) if (g.driver) tagsByDriver.set(g.driver, (tagsByDriver.get(g.driver) ?? 0) + g.tag_count);
    const runningByNode = new Map(states.states.map((s) => [s.node, s.running]));
    const builtIn = this.opts.neuronex && north.nodes.some((n) => n.name === NEURONEX_DATA_PROCESSING_NODE) ? 1 : 0;
    const southNodes = south.nodes.map((n) => ({ name: n.name, plugin: n.plugin, running: runningByNode.get(n.name) ?? 1, tags: tagsByDriver.get(n.name) ?? 0 }));
    return {
      tags: [...tagsByDriver.values()].reduce((a, b) => a + b, 0),
      connections: south.nodes.length + north.nodes.length - builtIn,
      south: southNodes,
      north: north.nodes.length - builtIn,
    };
  }

  async nodePlugin(node: string): Promise<string | undefined> {
    const [south, north] = await Promise.all([this.get('/node?type=1', nodesSchema), this.get('/node?type=2', nodesSchema)]);
    return [...south.nodes, ...north.nodes].find((n) => n.name === node)?.plugin;
  }

  /** Plugin display names the gateway has installed (`GET /plugin`). */
  async plugins(): Promise<string[]> {
    return (await this.get('/plugin', pluginsSchema)).plugins.map((p) => p.name);
  }

  /** Every node (south and north) with its plugin. */
  async nodes(): Promise<{ name: string; plugin: string; south: boolean }[]> {
    const [south, north] = await Promise.all([this.get('/node?type=1', nodesSchema), this.get('/node?type=2', nodesSchema)]);
    return [...south.nodes.map((n) => ({ ...n, south: true })), ...north.nodes.map((n) => ({ ...n, south: false }))];
  }

  async deleteNode(name: string): Promise<void> {
    await this.call('DELETE', '/node', { name });
  }

  async groupsOf(node: string): Promise<{ name: string; tags: number }[]> {
    const r = await this.get(`/group?node=${encodeURIComponent(node)}`, groupsSchema);
    return r.groups.map((g) => ({ name: g.name ?? g.group ?? '', tags: g.tag_count }));
  }

  async tagNames(node: string, group: string): Promise<string[]> {
    const r = await this.get(`/tags?node=${encodeURIComponent(node)}&group=${encodeURIComponent(group)}`, tagsSchema);
    return r.tags.map((t) => t.name);
  }

  async deleteTags(node: string, group: string, tags: string[]): Promise<void> {
    await this.call('DELETE', '/tags', { node, group, tags });
  }

  /** cmd 0 = start, 1 = stop. */
  async nodeControl(node: string, cmd: 0 | 1): Promise<void> {
    await this.call('POST', '/node/ctl', { node, cmd });
  }

  private async get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
    const body = await this.call('GET', path);
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new NeuronApiError(200, undefined, `unexpected answer from ${path}: ${describeIssue(parsed.error.issues[0])}`);
    return parsed.data;
  }

  private async call(method: string, path: string, body?: unknown, retried = false): Promise<unknown> {
    const token = await this.login();
    const res = await fetch(this.opts.apiBase + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
    });
    const json: unknown = await res.json().catch(() => undefined);
    if (res.status === 401 && !retried) {
      this.token = undefined;
      return this.call(method, path, body, true);
    }
    const err = errorSchema.safeParse(json);
    if (!res.ok || (err.success && err.data.error !== 0 && method !== 'GET')) {
      throw new NeuronApiError(res.status, err.success ? err.data.error : undefined, `${method} ${path} failed (HTTP ${res.status}${err.success ? `, error ${err.data.error}` : ''})`);
    }
    return json;
  }

  private async login(): Promise<string> {
    if (this.token) return this.token;
    const ex = this.opts.neuronex;
    const res = await fetch(ex ? ex.loginUrl : `${this.opts.apiBase}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ex ? { name: this.opts.username, password: this.opts.password } : { name: this.opts.username, pass: this.opts.password }),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5_000),
    });
    const body = (await res.json().catch(() => ({}))) as { token?: string; error?: number };
    if (!res.ok || !body.token) throw new NeuronApiError(res.status, body.error, `login to the gateway failed (HTTP ${res.status})`);
    this.token = body.token;
    return body.token;
  }
}
