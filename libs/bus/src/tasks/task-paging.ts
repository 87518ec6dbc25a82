import type { TaskListQuery, TaskPage, TaskRecord } from './task.types.js';

const MAX_PAGE = 100;

/** Filters, sorts newest first and pages records; the cursor is the offset of the next page. */
export function pageOf(records: TaskRecord[], query: TaskListQuery, copy: (r: TaskRecord) => TaskRecord = (r) => r): TaskPage {
  const limit = Math.min(MAX_PAGE, Math.max(1, query.limit ?? 20));
  const offset = query.cursor ? Number.parseInt(query.cursor, 10) || 0 : 0;
  const matching = records
    .filter(
      (r) =>
        (query.context_id === undefined || r.context_id === query.context_id) &&
        (query.state === undefined || r.state === query.state) &&
        (query.target === undefined || r.target === query.target) &&
        (query.tenant_id === undefined || r.tenant_id === query.tenant_id),
    )
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
  const tasks = matching.slice(offset, offset + limit).map(copy);
  return offset + limit < matching.length ? { tasks, next_cursor: String(offset + limit) } : { tasks };
}
