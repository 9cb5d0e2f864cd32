import { Router } from 'express';
import { z } from 'zod';
import { NeuronError } from './errors.js';
import { parseBody, queryParam, sendNeuron, sendNeuronError } from './http-util.js';
import type { SimTag } from './neuron-model.js';
import type { NeuronState } from './neuron-state.js';
import { tagInputSchema } from './tag-rules.js';

const addGroupSchema = z.object({ name: z.string().min(1), node: z.string(), interval: z.int() });
const updateGroupSchema = z.object({
  node: z.string(),
  group: z.string(),
  new_name: z.string().optional(),
  interval: z.int().optional(),
});
const groupRefSchema = z.object({ node: z.string(), group: z.string() });
const tagsSchema = z.object({ node: z.string(), group: z.string().min(1), tags: z.array(tagInputSchema) });
const gtagsSchema = z.object({
  node: z.string(),
  groups: z.array(z.object({ group: z.string().min(1), interval: z.int(), tags: z.array(tagInputSchema) })),
});
const importSchema = z.object({ node: z.string() });
const deleteTagsSchema = z.object({ node: z.string(), group: z.string(), tags: z.array(z.string()) });

function tagView(t: SimTag): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: t.name,
    type: t.type,
    address: t.address,
    attribute: t.attribute,
    description: t.description,
    precision: t.precision,
    decimal: t.decimal,
    bias: t.bias,
    unit: t.unit,
  };
  if (t.value !== undefined) view['value'] = t.value;
  return view;
}

/** Groups and tags of south nodes. */
export function tagRoutes(state: NeuronState): Router {
  const r = Router();

  r.get('/group', (req, res) => {
    const nodeName = queryParam(req, 'node');
    if (nodeName === undefined || nodeName === '') {
      // Without `node`: every driver's groups, the one call that gives the total tag count.
      const groups = state
        .listNodes(1)
        .flatMap((n) => [...n.groups.values()].map((g) => ({ driver: n.name, group: g.name, tag_count: g.tags.size, interval: g.interval })));
      res.json({ groups });
      return;
    }
    const node = state.node(nodeName);
    if (node === undefined) return sendNeuronError(res, NeuronError.NODE_NOT_EXIST);
    const groups = [...node.groups.values()].map((g) => ({ name: g.name, interval: g.interval, tag_count: g.tags.size }));
    res.json({ groups });
  });

  r.post('/group', (req, res) => {
    const body = parseBody(addGroupSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.addGroup(body.node, body.name, body.interval));
  });

  r.put('/group', (req, res) => {
    const body = parseBody(updateGroupSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.updateGroup(body.node, body.group, { newName: body.new_name, interval: body.interval }));
  });

  r.delete('/group', (req, res) => {
    const body = parseBody(groupRefSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.deleteGroup(body.node, body.group));
  });

  r.get('/tags', (req, res) => {
    const nodeName = queryParam(req, 'node');
    const groupName = queryParam(req, 'group');
    if (!nodeName || !groupName) return sendNeuronError(res, NeuronError.PARAM_IS_WRONG);
    const found = state.southGroup(nodeName, groupName);
    if (typeof found === 'number') return sendNeuronError(res, found);
    const name = queryParam(req, 'name');
    const tags = [...found.group.tags.values()].filter((t) => !name || t.name.includes(name)).map(tagView);
    res.json({ tags });
  });

  r.post('/tags', (req, res) => {
    const body = parseBody(tagsSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuron(res, { ...state.addTags(body.node, body.group, body.tags) });
  });

  r.post('/gtags', (req, res) => {
    const body = parseBody(gtagsSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuron(res, { ...state.addGroupTags(body.node, body.groups) });
  });

  r.post('/tags/import', (req, res) => {
    const body = parseBody(importSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuron(res, { ...state.importTags(body.node) });
  });

  r.put('/tags', (req, res) => {
    const body = parseBody(tagsSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuron(res, { ...state.updateTags(body.node, body.group, body.tags) });
  });

  r.delete('/tags', (req, res) => {
    const body = parseBody(deleteTagsSchema, req.body);
    if (body === undefined) return sendNeuronError(res, NeuronError.BODY_IS_WRONG);
    sendNeuronError(res, state.deleteTags(body.node, body.group, body.tags));
  });

  return r;
}
