#!/usr/bin/env node
// What each part of the design card costs per request, measured rather than read off a profile:
// copies of the built service (dist/) with one part replaced by the cheapest code that does the same
// job on the benchmark's requests, for bench/request-path.mjs or `npm run bench -- --root` to run
// side by side with the unchanged build. They are experiments, never a build to deploy: each skips
// what the part is there for (see bench/README.md, "What the design card costs").
//
//   npx nest build api && node bench/design-card-variants.mjs [--variants=base,pool-transactions,…]
//   node bench/request-path.mjs --scenarios=cycle,engineer \
//     --dist=bench/results/tmp/variants/base/dist,bench/results/tmp/variants/pool-transactions/dist
//
// Every variant lives in bench/results/tmp/variants/<name>/ with its own dist/ (inside the repository,
// so that the copies resolve node_modules) and links to prisma/'s schema and migrations (what `--root`
// migrates from).
// A patch whose target text is not in the build fails the script: a variant never silently measures
// the unchanged code.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { repoRoot } from './lib/paths.mjs';

/** Runs the use case's statements on a pool client in BEGIN … COMMIT instead of a Prisma interactive transaction. */
const poolTransactions = {
  file: 'libs/database/src/transaction-runner.js',
  edits: [
    [
      'const MAX_ATTEMPTS = 4;',
      `import { Prisma } from './generated/prisma/client.js';
import { preparedStatementNames } from './prepared-statements.js';
const poolStatementName = preparedStatementNames();
const asSql = (first, values) => (first instanceof Prisma.Sql ? first : Prisma.sql(first, ...values));
function poolTransaction(client) {
    const run = (sql) => client.query({ text: sql.text, values: sql.values, name: \`pool_\${poolStatementName({ sql: sql.text })}\` });
    return {
        $queryRaw: async (first, ...values) => (await run(asSql(first, values))).rows,
        $executeRaw: async (first, ...values) => (await run(asSql(first, values))).rowCount,
    };
}
const MAX_ATTEMPTS = 4;`,
    ],
    [
      'return await this.prisma.$transaction(inTransaction, { timeout: options.timeoutMs ?? 15_000, maxWait: 10_000 });',
      `const client = await this.prisma.pool.connect();
                try {
                    await client.query('BEGIN');
                    const result = await inTransaction(poolTransaction(client));
                    await client.query('COMMIT');
                    return result;
                }
                catch (error) {
                    await client.query('ROLLBACK').catch(() => undefined);
                    throw error;
                }
                finally {
                    client.release();
                }`,
    ],
  ],
};

/** Verifies the bearer token with jsonwebtoken in the guard (HS256, the same claim checks) instead of passport-jwt. */
const directJwt = {
  file: 'libs/auth/src/guards.js',
  edits: [
    [
      "import { permissionsOf } from './permissions.js';",
      `import { permissionsOf } from './permissions.js';
import { createSecretKey } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { callerFromClaims } from './jwt.strategy.js';
const secretKey = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? '', 'utf8'));
const maxTtlSeconds = Number(process.env.JWT_MAX_TTL_SECONDS ?? 86_400);`,
    ],
    [
      `        return super.canActivate(context);
    }`,
      `        const header = context.switchToHttp().getRequest().headers.authorization ?? '';
        let user = false;
        let failure;
        try {
            if (!header.startsWith('Bearer ')) throw new Error('No auth token');
            user = callerFromClaims(jsonwebtoken.verify(header.slice(7), secretKey, { algorithms: ['HS256'], clockTolerance: 30 }), maxTtlSeconds);
        }
        catch (error) {
            failure = error;
        }
        this.handleRequest(failure instanceof DomainError ? failure : undefined, user, failure, context);
        return true;
    }`,
    ],
  ],
};

/** Hands request bodies to the controllers unchecked and untransformed: an upper bound of what body validation costs. */
const noBodyValidation = {
  file: 'libs/http/src/validation.js',
  edits: [
    [
      `    async transform(value, metadata) {
        const dto`,
      `    async transform(value, metadata) {
        if (metadata.type === 'body')
            return value;
        const dto`,
    ],
  ],
};

const VARIANTS = {
  base: [],
  'pool-transactions': [poolTransactions],
  'direct-jwt': [directJwt],
  'no-body-validation': [noBodyValidation],
  'all-three': [poolTransactions, directJwt, noBodyValidation],
};

const { values } = parseArgs({ options: { variants: { type: 'string', default: Object.keys(VARIANTS).join(',') } } });
const dist = path.join(repoRoot, 'dist');
if (!existsSync(path.join(dist, 'apps', 'api', 'src', 'main.js'))) throw new Error('dist/ is missing: run `npx nest build api` first');

for (const name of values.variants.split(',')) {
  const patches = VARIANTS[name];
  if (!patches) throw new Error(`Unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const root = path.join(repoRoot, 'bench', 'results', 'tmp', 'variants', name);
  rmSync(root, { recursive: true, force: true });
  cpSync(dist, path.join(root, 'dist'), { recursive: true });
  // The schema and migrations only (what `--root` migrates from): a link to all of prisma/ would put
  // its TypeScript under bench/, inside the type check and the linter.
  mkdirSync(path.join(root, 'prisma'));
  for (const entry of ['schema.prisma', 'migrations']) symlinkSync(path.join(repoRoot, 'prisma', entry), path.join(root, 'prisma', entry));
  for (const { file, edits } of patches) {
    const target = path.join(root, 'dist', file);
    let text = readFileSync(target, 'utf8');
    for (const [from, to] of edits) {
      if (!text.includes(from))
        throw new Error(`${name}: ${file} no longer contains the text this variant replaces: ${from.slice(0, 80)}…`);
      text = text.replace(from, to);
    }
    writeFileSync(target, text);
  }
  console.log(`${name}: ${path.relative(repoRoot, root)}`);
}
