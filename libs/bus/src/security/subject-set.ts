import { subjectMatches } from '../protocol/subject-match.js';

/**
 * An ordered set of subject patterns without redundant entries: a subject a wider pattern already covers (`a.b`
 * under `a.>`) is left out, so the printed lists stay short and readable.
 */
export class SubjectSet {
  private readonly items: string[] = [];

  add(...subjects: string[]): this {
    for (const s of subjects) {
      if (this.items.some((p) => p === s || covers(p, s))) continue;
      for (let i = this.items.length - 1; i >= 0; i--) if (covers(s, this.items[i])) this.items.splice(i, 1);
      this.items.push(s);
    }
    return this;
  }

  get size(): number {
    return this.items.length;
  }

  toArray(): string[] {
    return [...this.items];
  }
}

/** Whether every subject `pattern` matches is also matched by `wide` (a conservative check: false when unsure). */
function covers(wide: string, pattern: string): boolean {
  if (!wide.includes('*') && !wide.includes('>')) return false;
  // A pattern is covered when its wildcards, read as literal tokens, still match `wide` token for token and
  // `wide` has a wildcard wherever the pattern has one.
  const w = wide.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < p.length; i++) {
    if (w[i] === '>') return true;
    if (w[i] === undefined) return false;
    if (p[i] === '>') return false;
    if (p[i] === '*' && w[i] !== '*') return false;
    if (w[i] !== '*' && w[i] !== p[i]) return false;
  }
  return w.length === p.length && subjectMatches(wide, pattern.replace(/\*/g, 'x').replace(/>$/, 'x'));
}
