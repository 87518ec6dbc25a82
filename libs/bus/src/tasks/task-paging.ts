import type { TaskListQuery, TaskRecord } from './task.types.js';

const MAX_PAGE = 100;

/** The page size a query asks for: 1 to 100, 20 by default. */
export function pageLimit(query: TaskListQuery): number {
  return Math.min(MAX_PAGE, Math.max(1, query.limit ?? 20));
}

/** Whether a record passes the query's filters (`tenant_id: null`: tasks without a tenant). */
export function matchesQuery(r: TaskRecord, query: TaskListQuery): boolean {
  return (
    (query.context_id === undefined || r.context_id === query.context_id) &&
    (query.state === undefined || r.state === query.state) &&
    (query.target === undefined || r.target === query.target) &&
    (query.tenant_id === undefined || r.tenant_id === (query.tenant_id ?? undefined))
  );
}

/**
 * A tenant as a key token (KV keys allow `[-/_=.A-Za-z0-9]`): base64url of its UTF-8, `_` without a tenant, `-`
 * for the empty string (base64url of a non-empty string is never one character).
 */
export function tenantToken(tenant: string | null | undefined): string {
  if (tenant === undefined || tenant === null) return '_';
  if (tenant === '') return '-';
  return Buffer.from(tenant, 'utf8').toString('base64url');
}
