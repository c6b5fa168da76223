import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadAppConfig } from '@app/config';

// .env.example is the promised list of every variable the service reads (the contract's "Running
// it"). These checks keep it, the code and docs/configuration.md from drifting apart.

const root = path.resolve(import.meta.dirname, '../..');
const VARIABLE_LINE = /^([A-Z][A-Z0-9_]*)=(.*)$/;

function exampleLines(): string[] {
  return readFileSync(path.join(root, '.env.example'), 'utf8').split('\n');
}

function exampleEntries(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of exampleLines()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = VARIABLE_LINE.exec(line);
    if (!match) throw new Error(`.env.example: not a NAME=value line: ${line}`);
    if (entries.has(match[1])) throw new Error(`.env.example: ${match[1]} appears twice`);
    entries.set(match[1], match[2]);
  }
  return entries;
}

/** The service's own code: the app, its libraries and the `npm start` scripts (no tests, no generated code). */
function serviceSources(): string[] {
  const files = ['apps', 'libs'].flatMap((dir) =>
    readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.split(path.sep).includes('generated'))
      .map((file) => path.join(root, dir, file)),
  );
  return [...files, path.join(root, 'scripts', 'start.mjs'), path.join(root, 'scripts', 'embedded-postgres.mjs')];
}

const READS = [
  // app-config.ts's readers: optional(env, 'NAME'), integer(env, 'NAME', …), …
  /\b(?:optional|integer|boolean|url|oneOf)\(\s*env,\s*'([A-Z][A-Z0-9_]*)'/g,
  // process.env.NAME, env.NAME, env?.NAME, env['NAME']
  /\benv\??\.([A-Z][A-Z0-9_]*)\b/g,
  /\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g,
];

function variablesRead(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    for (const pattern of READS) for (const match of source.matchAll(pattern)) names.add(match[1]);
  }
  return names;
}

describe('.env.example', () => {
  const example = exampleEntries();
  const read = variablesRead(serviceSources());

  it('lists every variable the service reads', () => {
    const readByConfig = variablesRead([path.join(root, 'libs', 'config', 'src', 'app-config.ts')]);
    // Guards the patterns themselves: if they stopped matching, the checks below would pass on nothing.
    expect([...readByConfig]).toEqual(
      expect.arrayContaining(['NODE_ENV', 'DATABASE_URL', 'JWT_SECRET', 'SLA_LOW_SECONDS', 'METRICS_TOKEN']),
    );
    expect([...read]).toEqual(expect.arrayContaining(['EMBEDDED_DATA_DIR', 'EMBEDDED_DATABASE_PORT']));
    expect([...read].filter((name) => !example.has(name)).sort()).toEqual([]);
  });

  it('lists only variables that the service reads', () => {
    expect([...example.keys()].filter((name) => !read.has(name)).sort()).toEqual([]);
  });

  it('gives each variable its real default, so copying it changes nothing', () => {
    // The two values without a default (there is no built-in secret), set alike on both sides.
    const required = {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/engineer_review',
      JWT_SECRET: 'a-secret-of-at-least-32-characters-0123',
    };
    const fromExample = loadAppConfig({ ...Object.fromEntries(example), ...required });
    expect(fromExample).toEqual(loadAppConfig(required));
  });

  it('explains each variable in a comment above it', () => {
    const lines = exampleLines();
    const uncommented = [...example.keys()].filter((name) => {
      let index = lines.findIndex((line) => line.startsWith(`${name}=`)) - 1;
      while (index >= 0 && VARIABLE_LINE.test(lines[index])) index -= 1;
      return !(index >= 0 && lines[index].startsWith('# ') && !lines[index].startsWith('# ---'));
    });
    expect(uncommented).toEqual([]);
  });

  it('matches docs/configuration.md, which documents every variable', () => {
    const docs = readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
    expect([...example.keys()].filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);
    const documented = new Set([...docs.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((match) => match[1]));
    expect([...documented].filter((name) => !example.has(name))).toEqual([]);
  });
});
