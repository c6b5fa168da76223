import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

// The alert rules and their promtool unit tests (ops/prometheus/alerts.test.yml), as part of the
// test command. promtool comes from the Debian package `prometheus`; without it these are skipped
// (scripts/test-alert-rules.sh installs it where it can).

const root = path.resolve(import.meta.dirname, '../..');
const prometheusDir = path.join(root, 'ops', 'prometheus');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: prometheusDir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertNames = [...readFileSync(path.join(prometheusDir, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)$/gm)].map(
  (match) => match[1]!,
);

describe('Prometheus alert rules', () => {
  it.skipIf(!hasPromtool)('are valid rules in a valid configuration', () => {
    const rules = promtool('check', 'rules', 'alerts.yml');
    expect(rules.status, rules.output).toBe(0);
    expect(rules.output).toContain(`SUCCESS: ${alertNames.length} rules found`);
    const config = promtool('check', 'config', '--syntax-only', 'prometheus.yml');
    expect(config.status, config.output).toBe(0);
  });

  it.skipIf(!hasPromtool)('pass their unit tests', () => {
    const tests = promtool('test', 'rules', 'alerts.test.yml');
    expect(tests.status, tests.output).toBe(0);
  });

  it('each have a firing and a silent case in the unit tests', () => {
    const tests = readFileSync(path.join(prometheusDir, 'alerts.test.yml'), 'utf8');
    for (const name of alertNames) {
      const cases = tests.split(/\n\s*- eval_time: /).filter((block) => new RegExp(`^\\S+\\n\\s*alertname: ${name}\\n`).test(block));
      expect(
        cases.some((block) => /exp_alerts: \[\]/.test(block)),
        `${name} silent`,
      ).toBe(true);
      expect(
        cases.some((block) => /exp_labels:/.test(block)),
        `${name} firing`,
      ).toBe(true);
    }
  });

  it('each link to a section of the runbook', () => {
    const runbook = readFileSync(path.join(root, 'docs', 'runbook.md'), 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (\S+)/gm)].map((match) => match[1]!.toLowerCase()));
    const links = [...readFileSync(path.join(prometheusDir, 'alerts.yml'), 'utf8').matchAll(/runbook: docs\/runbook\.md#(\S+)/g)].map(
      (match) => match[1]!,
    );
    expect(links).toHaveLength(alertNames.length);
    for (const anchor of links) expect(anchors, anchor).toContain(anchor);
    expect(alertNames.length).toBeGreaterThanOrEqual(6);
  });
});
