import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The module graph lives in module-graph.config.js; eslint.config.js refuses any other @app/* import
// of a library. This checks that the lint rule bites, and what lint cannot see: every library placed,
// the graph acyclic, infrastructure free of feature libraries, no relative import out of a library
// (tests beside the code may use test/support), and docs/architecture.md showing the same table.

const root = path.resolve(import.meta.dirname, '..', '..');

const { INFRASTRUCTURE, MODULE_GRAPH } = (await import(pathToFileURL(path.join(root, 'module-graph.config.js')).href)) as {
  INFRASTRUCTURE: string[];
  MODULE_GRAPH: Record<string, string[]>;
};

function librarySources(): { module: string; file: string; text: string }[] {
  return readdirSync(path.join(root, 'libs')).flatMap((module) => {
    const dir = path.join(root, 'libs', module, 'src');
    return (readdirSync(dir, { recursive: true }) as string[])
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.startsWith('generated'))
      .map((name) => ({ module, file: path.join(dir, name), text: readFileSync(path.join(dir, name), 'utf8') }));
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/g;

describe('module graph', () => {
  it('places every library, and only libraries that exist', () => {
    expect(Object.keys(MODULE_GRAPH).sort()).toEqual(readdirSync(path.join(root, 'libs')).sort());
  });

  it('is acyclic: a library imports only libraries listed before it', () => {
    const order = Object.keys(MODULE_GRAPH);
    for (const [module, dependencies] of Object.entries(MODULE_GRAPH)) {
      for (const dependency of dependencies)
        expect(order.indexOf(dependency), `${module} → ${dependency}`).toBeLessThan(order.indexOf(module));
    }
  });

  it('keeps infrastructure libraries free of feature libraries', () => {
    for (const module of INFRASTRUCTURE)
      expect(
        MODULE_GRAPH[module]!.filter((dependency) => !INFRASTRUCTURE.includes(dependency)),
        module,
      ).toEqual([]);
    expect(MODULE_GRAPH.common).toEqual([]);
  });

  it('has no relative import that leaves its library folder', () => {
    const violations = librarySources().flatMap(({ module, file, text }) =>
      [...text.matchAll(IMPORT)]
        .map((match) => match[1]!)
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => !path.resolve(path.dirname(file), specifier).startsWith(path.join(root, 'libs', module, 'src')))
        .map((specifier) => `${path.relative(root, file)}: ${specifier}`),
    );
    expect(violations).toEqual([]);
  });

  it('is the table docs/architecture.md shows', () => {
    const doc = readFileSync(path.join(root, 'docs', 'architecture.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \| (.+) \|$/gm)].filter((row) => row[1]! in MODULE_GRAPH);
    const documented = Object.fromEntries(
      rows.map(([, module, list]) => [module, list === 'nothing' ? [] : list!.split(', ').map((name) => name.replaceAll('`', ''))]),
    );
    expect(documented).toEqual(MODULE_GRAPH);
  });
});

describe('the module graph lint rule', () => {
  it('fails a planted forbidden import with a message naming the rule, and passes an allowed one', async () => {
    const planted = {
      upward: path.join(root, 'libs', 'engineers', 'src', `planted-upward-${process.pid}.ts`),
      infrastructure: path.join(root, 'libs', 'config', 'src', `planted-feature-${process.pid}.ts`),
      allowed: path.join(root, 'libs', 'engineers', 'src', `planted-allowed-${process.pid}.ts`),
    };
    writeFileSync(planted.upward, "import { ReviewsModule } from '@app/reviews';\n\nexport const planted = ReviewsModule;\n");
    writeFileSync(planted.infrastructure, "import { EngineersModule } from '@app/engineers';\n\nexport const planted = EngineersModule;\n");
    writeFileSync(planted.allowed, "import { AuditModule } from '@app/audit';\n\nexport const planted = AuditModule;\n");
    try {
      // The project's own config, run for this rule alone: without type information it takes a second, not a minute.
      const eslint = new ESLint({
        cwd: root,
        overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
        ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
      });
      const results = await eslint.lintFiles(Object.values(planted));
      const restricted = (file: string): string[] =>
        results
          .find((result) => result.filePath === file)!
          .messages.filter((message) => message.ruleId === 'no-restricted-imports')
          .map((message) => message.message);
      expect(restricted(planted.upward)).toEqual([
        expect.stringMatching(/'@app\/reviews'.*Module graph \(module-graph\.config\.js\): libs\/engineers may import only/),
      ]);
      expect(restricted(planted.infrastructure)).toEqual([
        expect.stringMatching(/'@app\/engineers'.*libs\/config may import only @app\/common/),
      ]);
      expect(restricted(planted.allowed)).toEqual([]);
    } finally {
      for (const file of Object.values(planted)) rmSync(file, { force: true });
    }
  });
});
