// CPU per transaction of the client: node-postgres BEGIN … COMMIT on a pool against the service's own
// PrismaService + TransactionRunner (built code, dist/) and variants of how the same Prisma interactive
// transaction is called. Runs on a scratch database of its own on 127.0.0.1 and drops it at the end.
//
//   npx nest build api && node bench/prisma-transaction.mjs [--tx=2000] [--repeat=5] [--statements=6]
//     [--concurrency=4] [--variants=pg,service,…] [--only-profile=variant]
//
// Every loop is bounded by --tx and --repeat. Figures are process.cpuUsage() (user + system) per
// transaction, median over the repeats (run round robin across the variants), and the statements
// each variant sends per transaction, counted by wrapping node-postgres's Client.prototype.query.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    tx: { type: 'string', default: '2000' },
    repeat: { type: 'string', default: '5' },
    statements: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '4' },
    variants: { type: 'string' },
    'server-url': { type: 'string', default: process.env.BENCH_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' },
  },
});
const TX = Math.min(50_000, Number(args.tx));
const REPEAT = Math.min(20, Number(args.repeat));
const STATEMENTS = Math.min(20, Number(args.statements));
const CONCURRENCY = Math.min(32, Number(args.concurrency));

const serverUrl = new URL(args['server-url']);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(serverUrl.hostname)) throw new Error('Only a local PostgreSQL, please');
const dbName = `ers_prisma_bench_${process.pid}`;
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${dbName}`;

async function onServer(sql) {
  const client = new pg.Client({ connectionString: serverUrl.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const { PrismaService, TransactionRunner } = await import(pathToFileURL(path.join(root, 'dist/libs/database/src/index.js')).href);
const { PrismaClient } = await import(pathToFileURL(path.join(root, 'dist/libs/database/src/generated/prisma/client.js')).href);
const { PrismaPg } = await import('@prisma/adapter-pg');

/** Counts what every node-postgres client sends (Prisma's adapter uses the same pg), for the round trips per transaction. */
const counter = { queries: 0, texts: new Map() };
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  counter.queries += 1;
  const text = typeof config === 'string' ? config : config?.text;
  const key = String(text).trim().split(/\s+/).slice(0, 2).join(' ');
  counter.texts.set(key, (counter.texts.get(key) ?? 0) + 1);
  return clientQuery.call(this, config, ...rest);
};

// The statements of one transaction: a row lock, then updates and reads of that row, like a use case.
function pgStatements(client, id) {
  const work = [() => client.query('SELECT id, n FROM bench_rows WHERE id = $1 FOR UPDATE', [id])];
  for (let i = 1; i < STATEMENTS; i += 1) {
    work.push(
      i % 2
        ? () => client.query('UPDATE bench_rows SET n = n + 1 WHERE id = $1', [id])
        : () => client.query('SELECT id, n, note FROM bench_rows WHERE id = $1', [id]),
    );
  }
  return work;
}

function prismaStatements(tx, id) {
  const work = [() => tx.$queryRaw`SELECT id, n FROM bench_rows WHERE id = ${id}::int FOR UPDATE`];
  for (let i = 1; i < STATEMENTS; i += 1) {
    work.push(
      i % 2
        ? () => tx.$executeRaw`UPDATE bench_rows SET n = n + 1 WHERE id = ${id}::int`
        : () => tx.$queryRaw`SELECT id, n, note FROM bench_rows WHERE id = ${id}::int`,
    );
  }
  return work;
}

function prismaUnsafeStatements(tx, id) {
  const work = [() => tx.$queryRawUnsafe('SELECT id, n FROM bench_rows WHERE id = $1::int FOR UPDATE', id)];
  for (let i = 1; i < STATEMENTS; i += 1) {
    work.push(
      i % 2
        ? () => tx.$executeRawUnsafe('UPDATE bench_rows SET n = n + 1 WHERE id = $1::int', id)
        : () => tx.$queryRawUnsafe('SELECT id, n, note FROM bench_rows WHERE id = $1::int', id),
    );
  }
  return work;
}

async function sequentially(work) {
  for (const step of work) await step();
}

const databaseOptions = (url) => ({ url, poolMax: CONCURRENCY, lockTimeoutMs: 2_000, throughPooler: false, preparedStatements: true });

/** adapter-pg's statementNameGenerator: one named prepared statement per distinct SQL text (at most 500). */
function statementNames() {
  const names = new Map();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < 500) names.set(sql, (name = `s${names.size}`));
    return name ?? '';
  };
}

/** A client configured like PrismaService, but with these Prisma and adapter options, run like TransactionRunner. */
async function plainClient(clientOptions, adapterOptions) {
  const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: CONCURRENCY, options: '-c lock_timeout=2000' });
  const prisma = new PrismaClient({ ...clientOptions, adapter: new PrismaPg(pool, adapterOptions) });
  await prisma.$queryRaw`SELECT 1`;
  return {
    pool,
    run: (id) => prisma.$transaction((tx) => sequentially(prismaStatements(tx, id)), { timeout: 15_000, maxWait: 10_000 }),
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Each variant: setup() → { run(id), pool, close() }. */
const variants = {
  pg: async () => {
    const pool = new pg.Pool({ connectionString: dbUrl.toString(), max: CONCURRENCY });
    return {
      pool,
      run: async (id) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await sequentially(pgStatements(client, id));
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
  },
  service: async () => {
    const options = databaseOptions(dbUrl.toString());
    const prisma = new PrismaService(options);
    const runner = new TransactionRunner(prisma, options);
    await prisma.$queryRaw`SELECT 1`;
    return {
      pool: prisma.pool,
      run: (id) => runner.run((tx) => sequentially(prismaStatements(tx, id))),
      close: () => prisma.onModuleDestroy(),
    };
  },
  'service-unsafe': async () => {
    const options = databaseOptions(dbUrl.toString());
    const prisma = new PrismaService(options);
    const runner = new TransactionRunner(prisma, options);
    await prisma.$queryRaw`SELECT 1`;
    return {
      pool: prisma.pool,
      run: (id) => runner.run((tx) => sequentially(prismaUnsafeStatements(tx, id))),
      close: () => prisma.onModuleDestroy(),
    };
  },
  'service-pooler': async () => {
    const options = { ...databaseOptions(dbUrl.toString()), throughPooler: true, preparedStatements: false };
    const prisma = new PrismaService(options);
    const runner = new TransactionRunner(prisma, options);
    await prisma.$queryRaw`SELECT 1`;
    return {
      pool: prisma.pool,
      run: (id) => runner.run((tx) => sequentially(prismaStatements(tx, id))),
      close: () => prisma.onModuleDestroy(),
    };
  },
  // PrismaService before errorFormat 'minimal': Prisma's default errorFormat
  // ('colorless' outside NODE_ENV=production: a stack trace per query for its call site).
  before: () => plainClient({}, {}),
  // The same with named prepared statements (parsed once per connection), as PrismaService is configured otherwise.
  'named-statements': () => plainClient({ errorFormat: 'minimal' }, { statementNameGenerator: statementNames() }),
  'prisma-no-tx': async () => {
    // The same statements outside a transaction, each its own implicit one: the cost of a raw query alone.
    const options = databaseOptions(dbUrl.toString());
    const prisma = new PrismaService(options);
    await prisma.$queryRaw`SELECT 1`;
    return {
      pool: prisma.pool,
      run: (id) => sequentially(prismaStatements(prisma, id)),
      close: () => prisma.onModuleDestroy(),
    };
  },
  'prisma-batch': async () => {
    // The array form of $transaction, for comparison (not usable for the use cases: no logic between statements).
    const options = databaseOptions(dbUrl.toString());
    const prisma = new PrismaService(options);
    await prisma.$queryRaw`SELECT 1`;
    return {
      pool: prisma.pool,
      run: (id) => prisma.$transaction(prismaStatements(prisma, id).map((step) => step())),
      close: () => prisma.onModuleDestroy(),
    };
  },
};

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Sets every variant up, then runs the repeats round robin (variant 1, 2, …, then again), so that a
 * change of load on a shared machine hits every variant alike; the medians are over the repeats.
 */
async function measureAll(names) {
  const rows = 1_000;
  const set = [];
  for (const name of names) set.push({ name, variant: await variants[name](), cpu: [], wall: [], queries: 0, texts: new Map() });
  const drive = async (variant, count) => {
    let left = count;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, worker) => {
        while (left > 0) {
          left -= 1;
          // Workers take distinct rows, so no lock waits distort the figures.
          next = (next + 1) % (rows / CONCURRENCY);
          await variant.run(worker * (rows / CONCURRENCY) + next + 1);
        }
      }),
    );
  };
  for (const entry of set) await drive(entry.variant, Math.min(500, TX));
  for (let r = 0; r < REPEAT; r += 1) {
    for (const entry of set) {
      counter.queries = 0;
      counter.texts.clear();
      const start = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await drive(entry.variant, TX);
      const used = process.cpuUsage(start);
      entry.wall.push(Number(process.hrtime.bigint() - t0) / 1e6 / TX);
      entry.cpu.push((used.user + used.system) / 1_000 / TX);
      entry.queries += counter.queries;
      for (const [text, n] of counter.texts) entry.texts.set(text, (entry.texts.get(text) ?? 0) + n);
    }
  }
  for (const entry of set) await entry.variant.close();
  return set.map(({ name, cpu, wall, queries, texts }) => ({
    name,
    cpuMs: median(cpu),
    cpuMin: Math.min(...cpu),
    cpuMax: Math.max(...cpu),
    wallMs: median(wall),
    queriesPerTx: queries / (TX * REPEAT),
    kinds: [...texts].map(([text, n]) => `${text} ×${(n / (TX * REPEAT)).toFixed(2)}`).join(', '),
  }));
}

await onServer(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await onServer(`CREATE DATABASE ${dbName}`);
try {
  const setup = new pg.Client({ connectionString: dbUrl.toString() });
  await setup.connect();
  await setup.query(`CREATE TABLE bench_rows (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, note text NOT NULL DEFAULT 'x')`);
  await setup.query(`INSERT INTO bench_rows (id) SELECT g FROM generate_series(1, 1000) g`);
  await setup.end();

  const names = args.variants
    ? args.variants.split(',')
    : ['pg', 'before', 'service', 'named-statements', 'service-unsafe', 'service-pooler', 'prisma-no-tx', 'prisma-batch'];
  console.log(`${TX} transactions × ${REPEAT} repeats, ${STATEMENTS} statements each, ${CONCURRENCY} concurrent; node ${process.version}`);
  console.log('| variant | CPU ms/tx (median) | min–max | wall ms/tx | queries/tx | what is sent per tx |');
  console.log('|---|---|---|---|---|---|');
  for (const name of names) if (!variants[name]) throw new Error(`Unknown variant ${name}; known: ${Object.keys(variants).join(', ')}`);
  for (const r of await measureAll(names)) {
    console.log(
      `| ${r.name} | ${r.cpuMs.toFixed(3)} | ${r.cpuMin.toFixed(3)}–${r.cpuMax.toFixed(3)} | ${r.wallMs.toFixed(3)} | ${r.queriesPerTx.toFixed(2)} | ${r.kinds} |`,
    );
  }
} finally {
  await onServer(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
