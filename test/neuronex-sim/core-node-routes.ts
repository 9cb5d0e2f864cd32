import { Router } from 'express';
import { z } from 'zod';
import { NeuronError } from './errors.js';
import { parseBody, queryParam, sendNeuronError } from './http-util.js';
import { linkState, type SimNode } from './neuron-model.js';
import type { NeuronState } from './neuron-state.js';

const paramsSchema = z.record(z.string(), z.unknown());
const addNodeSchema = z.object({ name: z.string(), plugin: z.string(), params: paramsSchema.optional(), tags: z.string().optional() });
const updateNodeSchema = z.object({ name: z.string(), new_name: z.string() });
const deleteNodeSchema = z.object({ name: z.string() });
const nodeCtlSchema = z.object({ node: z.string(), cmd: z.int() });
const nodeSettingSchema = z.object({ node: z.string(), params: paramsSchema });

/** `type` must be exactly 1 or 2 (neu_http_get_param_node_type). */
function nodeTypeParam(raw: string | undefined): 1 | 2 | undefined {
  if (raw === '1') return 1;
  if (raw === '2') return 2;
  return undefined;
}

function matchesFilters(node: SimNode, f: { plugin?: string; node?: string; state?: string; link?: string }): boolean {
  if (f.plugin !== undefined && f.plugin !== '' && node.plugin !== f.plugin) return false;
  if (f.node !== undefined && f.node !== '' && !node.name.includes(f.node)) return false;
  if (f.state !== undefined && f.state !== '' && String(node.running) !== f.state) return false;
  if (f.link !== undefined && f.link !== '' && String(linkState(node)) !== f.link) return false;
  return true;
}

function nodeStateView(node: SimNode): Record<string, unknown> {
  const link = linkState(node);
  return { node: node.name, running: node.running, link, rtt: link === 1 ? 1 : 9999, log_level: 'notice' };
}

/** Nodes, node settings, node control and node state, plus the plugin list. */
export function nodeRoutes(state: NeuronState): Router {
  const r = Router();

  r.get('/node', (req, res) => {
    const type = nodeTypeParam(queryParam(req, 'type'));
    if (type === undefined) {
      sendNeuronError(res, NeuronError.PARAM_IS_WRONG);
      return;
    }
    const filters = {
      plugin: queryParam(req, 'plugin'),
      node: queryParam(req, 'node'),
      state: queryParam(req, 'state'),
      link: queryParam(req, 'link'),
    };
    const nodes = state
      .listNodes(type)
      .filter((n) => matchesFilters(n, filters))
      .map((n) => ({
        name: n.name,
        plugin: n.plugin,
        support_import_tags: (state.plugin(n.plugin)?.importTags ?? 0) > 0,
        tags: n.labels,
      }));
    res.json({ nodes });
  });

  r.post('/node', (req, res) => {
    const body = parseBody(addNodeSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.addNode({ name: body.name, plugin: body.plugin, params: body.params, labels: body.tags }));
  });

  r.put('/node', (req, res) => {
    const body = parseBody(updateNodeSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.renameNode(body.name, body.new_name));
  });

  r.delete('/node', (req, res) => {
    const body = parseBody(deleteNodeSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.deleteNode(body.name));
  });

  r.post('/node/ctl', (req, res) => {
    const body = parseBody(nodeCtlSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.controlNode(body.node, body.cmd));
  });

  r.post('/node/setting', (req, res) => {
    const body = parseBody(nodeSettingSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.setNodeSetting(body.node, body.params));
  });

  r.get('/node/setting', (req, res) => {
    const name = queryParam(req, 'node');
    if (name === undefined || name === '') return sendNeuronError(res, NeuronError.PARAM_IS_WRONG);
    const node = state.node(name);
    if (node === undefined) return sendNeuronError(res, NeuronError.NODE_NOT_EXIST);
    if (node.params === undefined) return sendNeuronError(res, NeuronError.NODE_SETTING_NOT_FOUND);
    res.json({ node: node.name, params: node.params });
  });

  r.get('/node/state', (req, res) => {
    const name = queryParam(req, 'node');
    let nodes = state.listNodes();
    if (name !== undefined && name !== '') {
      const node = state.node(name);
      if (node === undefined) return sendNeuronError(res, NeuronError.NODE_NOT_EXIST);
      nodes = [node];
    }
    res.json({ states: nodes.map(nodeStateView), neuron_core: 'notice' });
  });

  r.get('/plugin', (req, res) => {
    const only = queryParam(req, 'plugin');
    const plugins = state
      .pluginList()
      .filter((p) => only === undefined || only === '' || p.name === only)
      .map((p) => ({
        kind: 1,
        node_type: p.nodeType,
        name: p.name,
        library: p.library,
        description: `${p.name} plugin (simulated)`,
        description_zh: `${p.name} plugin (simulated)`,
        schema: p.schema,
      }));
    res.json({ plugins });
  });

  return r;
}
