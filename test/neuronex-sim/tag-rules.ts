import { z } from 'zod';
import { NeuronError } from './errors.js';
import type { SimTag } from './neuron-model.js';

const Attribute = { READ: 1, WRITE: 2, SUBSCRIBE: 4, STATIC: 8 } as const;

// define.h limits: a name must be shorter than its buffer (NUL included).
export const NAME_LEN = 128;
const PRECISION_MAX = 17;
const TYPE_MIN = 1;
const TYPE_MAX = 40;
const TYPE_ERROR = 15;

export const tagInputSchema = z.object({
  name: z.string().min(1),
  address: z.string().default(''),
  attribute: z.int(),
  type: z.int(),
  precision: z.int().nonnegative().optional(),
  decimal: z.number().optional(),
  bias: z.number().optional(),
  description: z.string().optional(),
  unit: z.string().optional(),
  value: z.unknown().optional(),
});
export type TagInput = z.infer<typeof tagInputSchema>;

/** The error code one tag would fail with (0 = valid); `taken` holds names already in the group. */
export function validateTag(tag: TagInput, taken: ReadonlySet<string>): number {
  if (tag.name.length >= NAME_LEN) return NeuronError.TAG_NAME_TOO_LONG;
  if (tag.address.length >= NAME_LEN) return NeuronError.TAG_ADDRESS_TOO_LONG;
  if ((tag.description ?? '').length >= NAME_LEN) return NeuronError.TAG_DESCRIPTION_TOO_LONG;
  if ((tag.precision ?? 0) > PRECISION_MAX) return NeuronError.TAG_PRECISION_INVALID;
  const attr = tag.attribute;
  const bothSubscribeAndStatic = (attr & Attribute.SUBSCRIBE) !== 0 && (attr & Attribute.STATIC) !== 0;
  if (attr < 1 || attr > 15 || bothSubscribeAndStatic) return NeuronError.TAG_ATTRIBUTE_NOT_SUPPORT;
  if (tag.type < TYPE_MIN || tag.type > TYPE_MAX || tag.type === TYPE_ERROR) return NeuronError.TAG_TYPE_NOT_SUPPORT;
  // The plugin's address check runs for non-static tags only.
  if ((attr & Attribute.STATIC) === 0 && tag.address.trim() === '') return NeuronError.TAG_ADDRESS_FORMAT_INVALID;
  if (taken.has(tag.name)) return NeuronError.TAG_NAME_CONFLICT;
  return 0;
}

export function toSimTag(tag: TagInput): SimTag {
  const out: SimTag = {
    name: tag.name,
    address: tag.address,
    attribute: tag.attribute,
    type: tag.type,
    precision: tag.precision ?? 0,
    decimal: tag.decimal ?? 0,
    bias: tag.bias ?? 0,
    description: tag.description ?? '',
    unit: tag.unit ?? '',
  };
  if (tag.value !== undefined) out.value = tag.value;
  return out;
}

/** The plugin's fixed built-in tag list, as `POST /tags/import` adds it. */
export function builtInTags(pluginSchema: string, count: number): TagInput[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${pluginSchema}_builtin_${i + 1}`,
    address: `builtin!${i + 1}`,
    attribute: Attribute.READ,
    type: 9,
  }));
}
