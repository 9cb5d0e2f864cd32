import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeIssue, describeIssues, issuePath } from '../../../shared/zod-issues.js';

const schema = z.object({ a: z.object({ b: z.int() }), secret: z.string().min(8) });
const issuesOf = (v: unknown) => {
  const r = schema.safeParse(v);
  if (r.success) throw new Error('expected a failure');
  return r.error.issues;
};

describe('the one zod-issue formatter', () => {
  it.each([
    ['nested path and message', { a: { b: 1.5 }, secret: 'long enough' }, {}, /^a\.b: /],
    ['root issue', 'not an object', {}, /^\(root\): /],
    ['under a prefix', { a: { b: 1.5 }, secret: 'long enough' }, { under: 'body' }, /^body\.a\.b: /],
    ['codes only, never the value', { a: { b: 1 }, secret: 'hunter' }, { codesOnly: true }, /^secret: too_small$/],
  ] as const)('%s', (_name, value, options, expected) => {
    expect(describeIssue(issuesOf(value)[0], options)).toMatch(expected);
  });

  it('joins every issue and names a missing issue', () => {
    expect(describeIssues(issuesOf({ a: { b: 'x' }, secret: 1 }), { codesOnly: true })).toBe('a.b: invalid_type; secret: invalid_type');
    expect(describeIssue(undefined)).toBe('invalid');
    expect(describeIssues([])).toBe('invalid');
    expect(issuePath({ path: [] }, 'query')).toBe('query');
  });
});
