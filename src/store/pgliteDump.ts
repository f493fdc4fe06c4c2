import type { PGlite } from '@electric-sql/pglite';
import type { Database } from './db.ts';

/** The whole embedded data directory as a gzipped tarball (PGlite's own dump; openPglite loads it). */
export async function dumpPglite(db: Database): Promise<Buffer> {
  const pglite = (db as Database & { pglite?: PGlite }).pglite;
  if (!pglite) throw new Error('not an embedded (PGlite) database');
  const blob = await pglite.dumpDataDir('gzip');
  return Buffer.from(await blob.arrayBuffer());
}
