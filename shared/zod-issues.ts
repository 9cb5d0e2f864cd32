/** What a zod issue carries that a description uses (structural, so callers need not import zod's types). */
export interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly code: string;
}

export interface DescribeOptions {
  /** A path segment put before the issue's own, e.g. `body`. */
  readonly under?: string;
  /** The issue code instead of its message: a message may quote the value, and the value may be a secret. */
  readonly codesOnly?: boolean;
}

/** `a.b.c`, with `under` first; `(root)` for an issue about the whole value. */
export function issuePath(issue: Pick<IssueLike, 'path'>, under?: string): string {
  return [...(under ? [under] : []), ...issue.path.map(String)].join('.') || '(root)';
}

/** The one way a zod issue becomes text: `path: message` (or `path: code`). */
export function describeIssue(issue: IssueLike | undefined, o: DescribeOptions = {}): string {
  if (!issue) return 'invalid';
  return `${issuePath(issue, o.under)}: ${o.codesOnly ? issue.code : issue.message}`;
}

/** Every issue, `; `-separated. */
export function describeIssues(issues: readonly IssueLike[], o: DescribeOptions = {}): string {
  return issues.length === 0 ? 'invalid' : issues.map((i) => describeIssue(i, o)).join('; ');
}
