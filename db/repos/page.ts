// Pagination helper shared by the repositories: fetch limit+1 rows, the marker is the last returned item's key.
import type { Page } from '../../core/model.js';

/** Turns limit+1 fetched rows into a page; `markerOf` gives the marker of the last item kept. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, markerOf: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit).map(map);
  const last = items[items.length - 1];
  const next = rows.length > limit && last !== undefined ? markerOf(last) : null;
  return { items, next };
}
