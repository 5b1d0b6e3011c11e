// Opens the default store backend. The DuckDB binding is loaded on first use, so commands that
// never touch a store (pcap, http, flows…) do not pay its ~100 ms load time.

import type { Store } from './store.js';

/** Open (or create) a DuckDB store: a file path, or ':memory:'. */
export async function openStore(path: string): Promise<Store> {
  const { openDuckDbStore } = await import('./duckdb/duckdb-store.js');
  return openDuckDbStore(path);
}

/** A SQL string literal. */
export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
