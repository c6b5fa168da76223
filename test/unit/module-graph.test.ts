import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

// The module graph of docs/architecture.md ("Modules and their dependencies"), enforced: each module
// may import only the modules listed for it, which keeps the graph acyclic, and no file reaches into
// another module's folder by a relative path.

const root = path.resolve(import.meta.dirname, '..', '..');

/** Lower layers first; a module may depend only on modules listed before it, and only on these. */
const ALLOWED_DEPENDENCIES: Record<string, string[]> = {
  common: [],
  config: ['common'],
  database: ['common', 'config'],
  http: ['common', 'config', 'database'],
  observability: ['common', 'config', 'database', 'http'],
  auth: ['common', 'config', 'database', 'http'],
  audit: ['auth', 'common', 'config', 'database', 'http', 'observability'],
  engineers: ['audit', 'auth', 'common', 'config', 'database', 'http', 'observability'],
  incidents: ['audit', 'auth', 'common', 'config', 'database', 'http', 'observability'],
  webhooks: ['auth', 'common', 'config', 'database', 'engineers', 'http', 'observability'],
  reviews: ['audit', 'auth', 'common', 'config', 'database', 'engineers', 'http', 'incidents', 'observability', 'webhooks'],
  sla: ['audit', 'auth', 'common', 'config', 'database', 'engineers', 'http', 'incidents', 'observability', 'reviews', 'webhooks'],
};

interface SourceFile {
  module: string;
  file: string;
  text: string;
}

function sources(): SourceFile[] {
  const files: SourceFile[] = [];
  for (const module of readdirSync(path.join(root, 'libs'))) {
    const dir = path.join(root, 'libs', module, 'src');
    for (const name of readdirSync(dir, { recursive: true }) as string[]) {
      if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.startsWith('generated')) continue;
      files.push({ module, file: path.join(dir, name), text: readFileSync(path.join(dir, name), 'utf8') });
    }
  }
  return files;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/g;

function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((match) => match[1]!);
}

describe('module graph', () => {
  const files = sources();

  it('covers every library module (a new module must be placed in the graph)', () => {
    expect([...new Set(files.map((source) => source.module))].sort()).toEqual(Object.keys(ALLOWED_DEPENDENCIES).sort());
  });

  it('reads the imports it checks (a pattern that matched nothing would pass everything)', () => {
    const edges = new Set(files.flatMap(({ module, text }) => importsOf(text).filter((s) => s.startsWith('@app/')).map((s) => `${module} → ${s.slice(5)}`)));
    expect([...edges]).toEqual(expect.arrayContaining(['database → config', 'reviews → engineers', 'sla → reviews', 'auth → http']));
  });

  it('lets each module import only the modules below it', () => {
    const violations = files.flatMap(({ module, file, text }) =>
      importsOf(text)
        .filter((specifier) => specifier.startsWith('@app/'))
        .map((specifier) => specifier.slice('@app/'.length))
        .filter((target) => target !== module && !(ALLOWED_DEPENDENCIES[module] ?? []).includes(target))
        .map((target) => `${path.relative(root, file)}: ${module} → ${target}`),
    );
    expect(violations).toEqual([]);
  });

  it('has no relative import that leaves its module folder', () => {
    const violations = files.flatMap(({ module, file, text }) =>
      importsOf(text)
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => !path.resolve(path.dirname(file), specifier).startsWith(path.join(root, 'libs', module, 'src')))
        .map((specifier) => `${path.relative(root, file)}: ${specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it('is acyclic as declared', () => {
    const order = Object.keys(ALLOWED_DEPENDENCIES);
    for (const [module, dependencies] of Object.entries(ALLOWED_DEPENDENCIES)) {
      for (const dependency of dependencies) expect(order.indexOf(dependency), `${module} → ${dependency}`).toBeLessThan(order.indexOf(module));
    }
  });
});
