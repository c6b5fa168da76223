// An embedded PostgreSQL for `npm start` without DATABASE_URL: PGlite (PostgreSQL compiled to wasm,
// data in a folder) behind pglite-socket's wire-protocol server, so the app connects by URL through
// the same driver and code path as with a real server.
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * pglite-socket accepts 1 connection unless told otherwise, and rejects (does not queue) any
 * connection past the limit. The app's pool, the migration engine and a psql or seed session
 * alongside must all fit; they still share one PostgreSQL session, one statement at a time.
 */
export const EMBEDDED_MAX_CONNECTIONS = 20;

/**
 * Opens (creating on first use) the database in `dataDir` and serves it on 127.0.0.1:`port`
 * (0: a free port chosen by the OS). With `anyPortIfTaken`, a port already in use is replaced by
 * a free one instead of failing.
 * @param {{ dataDir: string, port?: number, anyPortIfTaken?: boolean, maxConnections?: number }} options
 * @returns {Promise<{ url: string, dataDir: string, created: boolean, stop(): Promise<void> }>}
 */
export async function startEmbeddedPostgres({ dataDir, port = 0, anyPortIfTaken = false, maxConnections = EMBEDDED_MAX_CONNECTIONS }) {
  const absoluteDataDir = path.resolve(dataDir);
  await mkdir(absoluteDataDir, { recursive: true });
  const created = (await readdir(absoluteDataDir)).length === 0;
  const db = await PGlite.create({ dataDir: absoluteDataDir });
  let server;
  try {
    server = await listen(db, port, maxConnections);
  } catch (error) {
    if (!(anyPortIfTaken && port !== 0 && error.code === 'EADDRINUSE')) {
      await db.close();
      throw error;
    }
    server = await listen(db, 0, maxConnections).catch(async (retryError) => {
      await db.close();
      throw retryError;
    });
  }
  // PGlite has a single database and ignores the name in the URL; "postgres" keeps tools happy.
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
  let stopping;
  return {
    url,
    dataDir: absoluteDataDir,
    created,
    stop() {
      stopping ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}

async function listen(db, port, maxConnections) {
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections });
  await server.start();
  return server;
}
