import { Router } from 'express';
import { z } from 'zod';
import { NeuronError } from './errors.js';
import { parseBody, sendNeuron, sendNeuronError } from './http-util.js';
import type { NeuronState } from './neuron-state.js';

const tag = z.object({ name: z.string(), address: z.string(), attribute: z.int(), type: z.int() }).loose();
const group = z.object({ group: z.string().optional(), name: z.string().optional(), interval: z.int().default(1000), tags: z.array(tag).default([]) });
const node = z.object({ name: z.string(), plugin: z.string(), params: z.record(z.string(), z.unknown()).optional(), groups: z.array(group).default([]) });
const driversSchema = z.object({ nodes: z.array(node) });
const configSchema = z.object({
  nodes: z.array(node).default([]),
  groups: z.array(z.object({ driver: z.string(), group: z.string(), interval: z.int() })).default([]),
  tags: z.array(z.object({ driver: z.string(), group: z.string(), tags: z.array(tag) })).default([]),
});

/**
 * `PUT /global/drivers|apps|config`: Neuron's bulk configuration routes, which create nodes, groups
 * and tags in one request (handled here as additions, each step with the gateway's own checks).
 */
export function globalRoutes(state: NeuronState): Router {
  const r = Router();
  const addNodes = (nodes: z.infer<typeof node>[]): number => {
    for (const n of nodes) {
      const e = state.addNode({ name: n.name, plugin: n.plugin, params: n.params ?? {}, labels: undefined });
      if (e !== 0) return e;
      if (n.groups.length) {
        const res = state.addGroupTags(n.name, n.groups.map((g) => ({ group: g.group ?? g.name ?? '', interval: g.interval, tags: g.tags })));
        if (res.error !== 0) return res.error;
      }
    }
    return 0;
  };
  for (const path of ['/global/drivers', '/global/apps']) {
    r.put(path, (req, res) => {
      const body = parseBody(driversSchema, req.body);
      if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
      sendNeuron(res, { error: addNodes(body.nodes) });
    });
  }
  r.put('/global/config', (req, res) => {
    const body = parseBody(configSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    let e = addNodes(body.nodes);
    for (const g of body.groups) if (e === 0) e = state.addGroup(g.driver, g.group, g.interval);
    for (const t of body.tags) if (e === 0) e = state.addTags(t.driver, t.group, t.tags).error;
    sendNeuron(res, { error: e });
  });
  return r;
}
