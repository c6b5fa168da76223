// Writes a run's results: <stamp>.json (everything), <stamp>.md (tables, verdict, plans) and SVG
// charts rendered with vega-lite → vega (server-side, no browser).
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

import { repoRoot } from './paths.mjs';

const OPERATIONS = ['assign', 'start', 'submit', 'decide', 'cancel', 'cycle'];
export const TARGETS = { clients: 32, minRatio: 0.5, maxP99Ms: 100 };

async function renderSvg(spec) {
  const compiled = vegaLite.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', background: 'white', ...spec }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  return view.toSVG();
}

function throughputSpec(levels) {
  const values = levels.flatMap((level) => [
    { cycle: level.cycle, clients: level.clients, source: 'service (HTTP)', cyclesPerSecond: level.median.serviceCyclesPerSecond },
    ...(level.median.pgbenchCyclesPerSecond === null
      ? []
      : [
          {
            cycle: level.cycle,
            clients: level.clients,
            source: 'pgbench (same SQL)',
            cyclesPerSecond: level.median.pgbenchCyclesPerSecond,
          },
        ]),
    ...(level.median.sideBySide?.lean
      ? [
          {
            cycle: level.cycle,
            clients: level.clients,
            source: 'lean reference (HTTP)',
            cyclesPerSecond: level.median.sideBySide.lean.cyclesPerSecond,
          },
        ]
      : []),
    ...(level.median.sideBySide?.pgbenchMinimal
      ? [
          {
            cycle: level.cycle,
            clients: level.clients,
            source: 'pgbench (minimal SQL)',
            cyclesPerSecond: level.median.sideBySide.pgbenchMinimal.cyclesPerSecond,
          },
        ]
      : []),
    ...(level.median.sideBySide?.pgbenchMinimalPrepared
      ? [
          {
            cycle: level.cycle,
            clients: level.clients,
            source: 'pgbench (minimal SQL, prepared)',
            cyclesPerSecond: level.median.sideBySide.pgbenchMinimalPrepared.cyclesPerSecond,
          },
        ]
      : []),
  ]);
  return {
    title: 'Throughput vs concurrency (median of runs)',
    data: { values },
    facet: { column: { field: 'cycle', type: 'nominal', title: 'cycle' } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'clients',
          type: 'quantitative',
          scale: { type: 'log', base: 2 },
          axis: { values: [...new Set(values.map((v) => v.clients))] },
        },
        y: { field: 'cyclesPerSecond', type: 'quantitative', title: 'cycles/s', scale: { type: 'log' } },
        color: { field: 'source', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function latencySpec(levels) {
  const values = levels.flatMap((level) =>
    Object.entries(level.median.latency).flatMap(([operation, percentiles]) =>
      ['p50', 'p95', 'p99']
        .filter((p) => percentiles[p] !== null)
        .map((p) => ({ cycle: level.cycle, clients: level.clients, operation, percentile: p, ms: percentiles[p] })),
    ),
  );
  return {
    title: 'Service latency per operation vs concurrency (median of runs)',
    data: { values },
    facet: { row: { field: 'percentile', type: 'nominal' }, column: { field: 'cycle', type: 'nominal' } },
    spec: {
      width: 260,
      height: 160,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'clients',
          type: 'quantitative',
          scale: { type: 'log', base: 2 },
          axis: { values: [...new Set(values.map((v) => v.clients))] },
        },
        y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
        color: { field: 'operation', type: 'nominal', sort: OPERATIONS },
      },
    },
  };
}

function rssSpec(samples) {
  return {
    title: 'Replica RSS during the soak',
    width: 520,
    height: 220,
    data: { values: samples.map((sample) => ({ ...sample, replica: `replica ${sample.replica}` })) },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'seconds', type: 'quantitative', title: 's since soak start' },
      y: { field: 'rssMiB', type: 'quantitative', title: 'RSS MiB', scale: { zero: false } },
      color: { field: 'replica', type: 'nominal' },
    },
  };
}

function scaleSpec(endpoints) {
  const values = endpoints.flatMap((endpoint) => ['p50', 'p99'].map((p) => ({ endpoint: endpoint.name, percentile: p, ms: endpoint[p] })));
  return {
    title: 'List endpoints at scale (sequential requests)',
    width: 420,
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'endpoint', type: 'nominal', sort: null, title: null, axis: { labelLimit: 320 } },
      yOffset: { field: 'percentile' },
      x: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'percentile', type: 'nominal' },
    },
  };
}

const fmt = (value, digits = 1) => (value === null || value === undefined || Number.isNaN(value) ? '–' : Number(value).toFixed(digits));

/** The first performance targets (service ÷ pgbench on the same SQL, p99 per operation), evaluated at 32 clients per cycle. */
export function evaluateTargets(results) {
  const targets = [];
  for (const level of results.load?.levels ?? []) {
    if (level.clients !== TARGETS.clients) continue;
    const { ratio, latency } = level.median;
    targets.push({
      target: `${level.cycle}: service ÷ pgbench cycles/s ≥ ${TARGETS.minRatio} at ${TARGETS.clients} clients`,
      measured: ratio === null ? 'no pgbench' : fmt(ratio, 2),
      met: ratio === null ? null : ratio >= TARGETS.minRatio,
    });
    const worst = Object.entries(latency)
      .filter(([operation]) => operation !== 'cycle')
      .sort((a, b) => (b[1].p99 ?? 0) - (a[1].p99 ?? 0))[0];
    if (worst) {
      targets.push({
        target: `${level.cycle}: p99 of every operation < ${TARGETS.maxP99Ms} ms at ${TARGETS.clients} clients`,
        measured: `worst ${worst[0]} ${fmt(worst[1].p99)} ms`,
        met: worst[1].p99 < TARGETS.maxP99Ms,
      });
    }
  }
  return targets;
}

function loadTables(levels) {
  const lines = [];
  for (const cycle of [...new Set(levels.map((level) => level.cycle))]) {
    const rows = levels.filter((level) => level.cycle === cycle);
    const operations = OPERATIONS.filter((operation) => rows.some((level) => level.median.latency[operation]));
    lines.push(`### ${cycle === 'full' ? 'Full cycle: assign → start → submit → decide' : 'Assign → cancel'}`, '');
    lines.push(
      `| clients | service cycles/s | pgbench cycles/s (connections) | ratio | ${operations.map((op) => `${op} p50 / p95 / p99 ms`).join(' | ')} | replicas' CPU ms per cycle | pgbench cycle p50 / p99 ms | pgbench time in COMMIT | errors |`,
    );
    lines.push(`|${'---|'.repeat(8 + operations.length)}`);
    for (const level of rows) {
      const m = level.median;
      lines.push(
        `| ${level.clients} | ${fmt(m.serviceCyclesPerSecond)} | ${fmt(m.pgbenchCyclesPerSecond)} (${m.pgbenchClients ?? '–'}) | ${fmt(m.ratio, 2)} | ` +
          operations
            .map((op) => (m.latency[op] ? `${fmt(m.latency[op].p50)} / ${fmt(m.latency[op].p95)} / ${fmt(m.latency[op].p99)}` : '–'))
            .join(' | ') +
          ` | ${fmt(m.replicaCpuMsPerCycle)} | ${fmt(m.pgbenchCycleLatency.p50)} / ${fmt(m.pgbenchCycleLatency.p99)} | ${m.pgbenchCommitShare === null ? '–' : `${Math.round(m.pgbenchCommitShare * 100)} %`} | ${m.errors} |`,
      );
    }
    lines.push('');
  }
  return lines;
}

/** The cost-per-request goals for assign → cancel at 32 clients (bench/README.md, "Goal table"). */
export const GOALS = {
  clients: 32,
  minRatio: 0.3,
  minRatioWebhooks: 0.25,
  maxReplicaCpuMsPerRequest: 2,
  maxPostgresCpuFactor: 1.5,
  maxP99Factor: 2,
};

const SIDE_ROWS = [
  ['service', 'service', 'replicas'],
  ['lean', 'lean reference (node:http + pg)', 'lean'],
  ['pgbenchService', "pgbench, the service's SQL (prepared, as the service sends it)", 'pgbench'],
  ['pgbenchMinimal', "pgbench, minimal SQL (parsed on every execution: the goals' baseline)", 'pgbench'],
  ['pgbenchMinimalPrepared', 'pgbench, minimal SQL, prepared (a stricter baseline)', 'pgbench'],
];

const cpuCell = (group) => (group ? `${fmt(group.msPerRequest, 2)} / ${fmt(group.msPerCycle, 2)} (${fmt(group.cores, 2)})` : '–');

/** The service beside the lean reference and both pgbench scripts, per assign → cancel level. */
function sideBySideTables(levels, webhooks) {
  const lines = [];
  for (const level of levels.filter((entry) => entry.cycle === 'cancel' && entry.median.sideBySide?.service)) {
    const rows = level.median.sideBySide;
    const service = rows.service.cyclesPerSecond;
    lines.push(
      `### Assign → cancel side by side at ${level.clients} clients (medians of ${level.runs.length} run(s); 1-minute load average after the service runs ${fmt(level.median.loadAverage, 1)})`,
      '',
    );
    lines.push(
      '| what | cycles/s | service ÷ this | cycle p50 / p99 ms | assign p50 / p99 ms | cancel p50 / p99 ms | own processes: CPU ms per request / per cycle (cores) | PostgreSQL backends: ms per request / per cycle (cores) | load client: ms per request / per cycle (cores) |',
      '|---|--:|--:|---|---|---|---|---|---|',
    );
    for (const [key, label, own] of SIDE_ROWS) {
      const row = rows[key];
      if (!row) continue;
      const op = (name) => (row.latency?.[name] ? `${fmt(row.latency[name].p50)} / ${fmt(row.latency[name].p99)}` : '–');
      lines.push(
        `| ${label}${row.clients && row.clients !== level.clients ? ` (${row.clients} connections)` : ''} | ${fmt(row.cyclesPerSecond)} | ${key === 'service' ? '1' : fmt(service / row.cyclesPerSecond, 2)} | ${op('cycle')} | ${op('assign')} | ${op('cancel')} | ` +
          `${cpuCell(row.cpu?.[own])} | ${cpuCell(row.cpu?.postgres)} | ${cpuCell(row.cpu?.loadClient)} |`,
      );
    }
    const ratios = [];
    const perRequest = (row, group) => row?.cpu?.[group]?.msPerRequest;
    if (perRequest(rows.lean, 'lean'))
      ratios.push(
        `the framework's tax, replica CPU per request ÷ the lean processes' ${fmt(perRequest(rows.service, 'replicas') / perRequest(rows.lean, 'lean'), 2)} ×`,
      );
    for (const [key, label] of [
      ['lean', "the lean reference's"],
      ['pgbenchService', "pgbench's on the service's SQL"],
      ['pgbenchMinimal', "pgbench's on the minimal SQL"],
      ['pgbenchMinimalPrepared', "pgbench's on the minimal SQL, prepared"],
    ]) {
      if (perRequest(rows[key], 'postgres'))
        ratios.push(
          `PostgreSQL CPU per cycle, the service's ÷ ${label} ${fmt(perRequest(rows.service, 'postgres') / perRequest(rows[key], 'postgres'), 2)} ×`,
        );
    }
    if (ratios.length) lines.push('', `Ratios: ${ratios.join('; ')}.`);
    if (rows.lean?.cpu?.replicas) {
      const work = webhooks
        ? "their background work, the delivery of the lean processes' webhook events included"
        : 'their background work (timers, pollers)';
      lines.push(
        '',
        `During the lean runs the replicas used ${cpuCell(rows.lean.cpu.replicas)} ms per request / per cycle (cores): ${work}.`,
      );
    }
    lines.push('');
  }
  return lines;
}

/** The cost-per-request goals, evaluated on the assign → cancel level at GOALS.clients. */
export function evaluateGoals(results) {
  const level = (results.load?.levels ?? []).find(
    (entry) => entry.cycle === 'cancel' && entry.clients === GOALS.clients && entry.median.sideBySide?.service,
  );
  if (!level) return [];
  const { service, pgbenchMinimal, pgbenchMinimalPrepared, pgbenchService } = level.median.sideBySide;
  const goals = [];
  const minRatio = results.options.webhooks ? GOALS.minRatioWebhooks : GOALS.minRatio;
  // The goals' baseline is the minimal SQL as pgbench runs it by default; the same SQL prepared
  // (as the service now sends its own) is shown beside it, as a stricter reading.
  const baselines = [
    [pgbenchMinimal, 'the minimal-SQL pgbench', ''],
    [pgbenchMinimalPrepared, 'the minimal-SQL pgbench, prepared', ' (stricter reading)'],
  ].filter(([reference]) => reference);
  for (const [reference, label, note] of baselines) {
    const ratio = service.cyclesPerSecond / reference.cyclesPerSecond;
    goals.push({
      goal: `service ≥ ${minRatio} × ${label} (webhooks ${results.options.webhooks ? 'on' : 'off'})${note}`,
      measured: `${fmt(service.cyclesPerSecond)} ÷ ${fmt(reference.cyclesPerSecond)} = ${fmt(ratio, 3)}`,
      met: ratio >= minRatio,
    });
  }
  const replicaCpu = service.cpu?.replicas?.msPerRequest;
  // The idle rate measured before the runs, taken out, says how much of it is per-request work.
  const idle = results.load.idle?.replicasMsPerSecond;
  const cores = service.cpu?.replicas?.cores;
  const net =
    replicaCpu !== null && idle !== undefined && idle !== null && cores ? replicaCpu * Math.max(0, 1 - idle / 1000 / cores) : null;
  goals.push({
    goal: `≤ ${GOALS.maxReplicaCpuMsPerRequest} ms of replica CPU per request`,
    measured: `${fmt(replicaCpu, 2)} ms${net === null ? '' : ` (${fmt(net, 2)} ms without the replicas' idle rate)`}`,
    met: replicaCpu === null ? null : replicaCpu <= GOALS.maxReplicaCpuMsPerRequest,
  });
  for (const [reference, , note] of baselines) {
    if (!reference.cpu?.postgres || !service.cpu?.postgres) continue;
    const factor = service.cpu.postgres.msPerCycle / reference.cpu.postgres.msPerCycle;
    goals.push({
      goal: `PostgreSQL CPU per cycle ≤ ${GOALS.maxPostgresCpuFactor} × the minimal SQL's${note ? ', prepared' : ''}${note}`,
      measured: `${fmt(service.cpu.postgres.msPerCycle, 2)} ÷ ${fmt(reference.cpu.postgres.msPerCycle, 2)} ms = ${fmt(factor, 2)} ×`,
      met: factor <= GOALS.maxPostgresCpuFactor,
    });
  }
  for (const [reference, label] of [
    [pgbenchMinimal, 'minimal SQL'],
    [pgbenchMinimalPrepared, 'minimal SQL, prepared; stricter reading'],
    [pgbenchService, "service's SQL"],
  ]) {
    const limit = reference?.latency?.cycle?.p99;
    if (!limit) continue;
    const worst = ['assign', 'cancel'].map((op) => [op, service.latency?.[op]?.p99 ?? null]).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0];
    goals.push({
      goal: `p99 of each operation ≤ ${GOALS.maxP99Factor} × pgbench's cycle p99 (${label})`,
      measured: `worst ${worst[0]} ${fmt(worst[1])} ms (service cycle p99 ${fmt(service.latency?.cycle?.p99)} ms) against ${fmt(limit)} ms`,
      met: worst[1] !== null && worst[1] <= GOALS.maxP99Factor * limit,
    });
  }
  goals.push({
    goal: 'every correctness check holds',
    measured: results.failures?.length ? `${results.failures.length} failed` : 'all passed',
    met: !results.failures?.length,
  });
  return goals;
}

function correctnessTable(levels) {
  const lines = ['| run | invariants | acknowledged writes checked | lost | outbox drained after |', '|---|---|---|---|---|'];
  for (const level of levels) {
    level.runs.forEach((run, index) => {
      for (const [checks, what] of [
        [run.checks, ''],
        [run.leanChecks, ' lean'],
      ]) {
        if (!checks) continue;
        const { invariants, acknowledged, outbox } = checks;
        lines.push(
          `| ${level.cycle} c=${level.clients} #${index + 1}${what} | ${invariants.ok ? 'ok' : `VIOLATED ${JSON.stringify(invariants)}`} | ${acknowledged.checked} | ${acknowledged.lost} | ` +
            `${outbox ? `${fmt(outbox.waitedMs / 1000)} s (${outbox.undelivered} left)` : 'webhooks off'} |`,
        );
      }
    });
  }
  return lines;
}

function decisionsSection({ longPoll, fanOut }) {
  const row = (label, p) => `| ${label} | ${p.count} | ${fmt(p.p50)} | ${fmt(p.p95)} | ${fmt(p.p99)} | ${fmt(p.max)} |`;
  return [
    `${longPoll.waiters} requests held by \`GET /incidents/{id}/decision?waitSeconds=60\` on ${longPoll.replicas} replica(s), decided through the last one ` +
      `(the decision request took ${fmt(longPoll.decisionRequestMs)} ms); ${longPoll.busyServiceConnectionsWhileHeld} service connection(s) busy while they were held; ` +
      `${longPoll.answeredBeforeDecision} answered early, ${longPoll.undecidedAnswers} undecided, ${longPoll.errors} failed. ` +
      `${fanOut.subscribers} \`GET /api/v1/events\` subscribers on ${fanOut.replicas} replica(s), ${fanOut.events} events written at ${fmt(fanOut.eventsPerSecondWritten)}/s: ` +
      `${fanOut.complete} subscribers received every event, ${fanOut.duplicates} duplicates.`,
    '',
    '| latency (ms) | samples | p50 | p95 | p99 | max |',
    '|---|---|---|---|---|---|',
    row('waiter answered, after the decision response', longPoll.wakeAfterDecisionResponseMs),
    row('event received by a subscriber, after its occurredAt', fanOut.commitToReceiptMs),
  ];
}

function profileSection(profile) {
  const lines = [
    `Replica 0 under the ${profile.cycle === 'cancel' ? 'assign → cancel' : 'full'} cycle at ${profile.clients} clients for ${profile.seconds} s (${fmt(profile.cyclesPerSecond)} cycles/s over all replicas while profiled), ` +
      `${profile.busyMs} ms of samples outside the idle loop (the process used ${profile.cpuMs ?? '?'} ms of CPU, from /proc) in ${profile.wallMs} ms of load. Profile: \`${profile.file}\` (open in Chrome DevTools or speedscope).`,
    '',
    '| owner | inclusive % | self % |',
    '|---|---|---|',
  ];
  const self = new Map(profile.byOwnerSelf.map((entry) => [entry.owner, entry.selfPercent]));
  for (const entry of profile.byOwnerInclusive.slice(0, 15))
    lines.push(`| ${entry.owner} | ${entry.inclusivePercent} | ${self.get(entry.owner) ?? '–'} |`);
  lines.push('', '| function | location | owner | self % |', '|---|---|---|---|');
  for (const entry of profile.topFunctions.slice(0, 20))
    lines.push(`| \`${entry.function}\` | ${entry.location} | ${entry.owner} | ${entry.selfPercent} |`);
  return lines;
}

function faultsSection(faults) {
  const lines = [
    '| fault | recovered after | errors while it lasted | other errors | 5xx other than 503 | lost acknowledged writes | invariants | webhook events lost |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const fault of faults) {
    lines.push(
      `| ${fault.fault} | ${fmt(fault.recoveredAfterMs / 1000)} s | ${JSON.stringify(fault.errorsDuringFault)} | ${JSON.stringify(fault.errorsOutsideFault)} | ${fault.serverErrors.length} | ` +
        `${fault.checks.acknowledged.lost} of ${fault.checks.acknowledged.checked} | ${fault.checks.invariants.ok ? 'ok' : 'VIOLATED'} | ${fault.webhooks ? `${fault.webhooks.lost} of ${fault.webhooks.events}` : '–'} |`,
    );
  }
  lines.push('', 'Details: ' + faults.map((fault) => `${fault.fault} ${JSON.stringify(fault.detail)}`).join('; ') + '.');
  return lines;
}

function rollingSection(rolling) {
  const lines = [
    `${rolling.replicas} replicas behind ${rolling.haproxy ?? 'HAProxy'}, ${rolling.clients} clients of assign → cancel; each replica in turn: SIGTERM, exit, start, back in the balancer.`,
    '',
    `**${rolling.sent} requests, ${rolling.failed} failed**; lost acknowledged writes ${rolling.checks.acknowledged.lost} of ${rolling.checks.acknowledged.checked}; invariants ${rolling.checks.invariants.ok ? 'ok' : 'VIOLATED'}.`,
    '',
    '| window | seconds | requests | failed | cycles/s | assign p50 / p99 ms | cancel p50 / p99 ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [name, window] of Object.entries(rolling.windows)) {
    lines.push(
      `| ${name} | ${fmt(window.seconds)} | ${window.sent} | ${window.failed} | ${fmt(window.cyclesPerSecond)} | ${fmt(window.latency.assign?.p50)} / ${fmt(window.latency.assign?.p99)} | ${fmt(window.latency.cancel?.p50)} / ${fmt(window.latency.cancel?.p99)} |`,
    );
  }
  lines.push(
    '',
    'Restarts: ' +
      rolling.restarts
        .map(
          (r) =>
            `replica ${r.replica} stopped in ${fmt(r.stoppedAfterMs / 1000)} s, ready ${fmt(r.readyAfterStartMs / 1000)} s after start`,
        )
        .join('; ') +
      '.',
  );
  return lines;
}

function scaleSection(scale) {
  const { shape } = scale;
  const lines = [
    `${shape.reviews.toLocaleString('en')} reviews (${shape.open.toLocaleString('en')} open), ${shape.incidents.toLocaleString('en')} incidents, ${shape.engineers.toLocaleString('en')} engineers, ` +
      `seeded in ${fmt(scale.seed.reduce((sum, step) => sum + step.seconds, 0))} s; invariants ${scale.invariants.ok ? 'hold' : 'VIOLATED'}. Requests are sequential, spread over the replicas.`,
    '',
    '| endpoint | request | p50 ms | p95 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
  ];
  for (const endpoint of scale.endpoints)
    lines.push(
      `| ${endpoint.name} | \`${endpoint.path.replace(/[0-9a-f-]{36}/g, '{id}')}\` | ${fmt(endpoint.p50)} | ${fmt(endpoint.p95)} | ${fmt(endpoint.p99)} | ${fmt(endpoint.max)} |`,
    );
  lines.push('');
  const passes = scale.escalation.filter((pass) => pass.status === 200);
  lines.push(
    passes.length
      ? `Escalation pass (\`POST /api/v1/sla/escalations/run\`): ${passes.map((pass) => `${pass.ms} ms ${JSON.stringify(pass.body)}`).join('; ')}.`
      : `Escalation pass: not measured (${scale.escalation.map((pass) => pass.status).join(', ') || 'no request'}).`,
    '',
  );
  lines.push(
    scale.seqScans.length
      ? `**Sequential scans on big tables:** ${scale.seqScans.map((scan) => `${scan.endpoint} (${scan.call}: ${scan.tables.join(', ')})`).join('; ')}.`
      : 'No plan scans a big table sequentially.',
    '',
  );
  lines.push('Plans (`EXPLAIN (ANALYZE, BUFFERS)` of the statements the repositories send):', '');
  for (const plan of scale.plans) {
    lines.push(
      `<details><summary>${plan.endpoint}: ${plan.call}, ${fmt(plan.executionMs, 2)} ms</summary>`,
      '',
      '```sql',
      plan.sql,
      `-- values: ${JSON.stringify(plan.values)}`,
      '```',
      '',
      '```',
      plan.plan,
      '```',
      '',
      '</details>',
      '',
    );
  }
  return lines;
}

/** The dist/ a run measured, named relative to this repository when it is not this repository's own. */
function builtFrom(root) {
  const relative = root ? path.relative(repoRoot, root) : '';
  return relative ? `${relative}/dist/` : 'dist/';
}

export function renderMarkdown(results, charts) {
  const { options, host } = results;
  const lines = [`# Benchmark ${results.startedAt}`, ''];
  lines.push(
    `Host: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGiB} GiB, Node ${host.node}, ${host.postgres ?? 'PostgreSQL ?'} (max_connections ${host.maxConnections ?? '?'}), ${host.pgbench ?? 'no pgbench'}` +
      `${host.loadAverageAtStart ? `; load average at the start ${host.loadAverageAtStart.join(', ')}` : ''}. ` +
      `Service: ${options.replicas} replica(s) of the ${options.service === 'dist' ? `built service (${builtFrom(options.root)})` : 'TypeScript sources'}, DATABASE_POOL_MAX ${options.poolMax}, ` +
      `webhooks ${options.webhooks ? 'on (local receiver)' : 'off'}; load runs of ${options.durationSeconds} s, ${options.repeat} per level and tool (medians shown). ` +
      'Clients, replicas, pgbench and PostgreSQL share the same machine, so absolute figures are noisy: compare ratios.',
    '',
  );
  lines.push('## Verdict', '');
  lines.push(
    results.failures.length
      ? `**${results.failures.length} correctness check(s) failed:**`
      : 'All correctness checks passed (invariants, acknowledged writes, webhook events, no 5xx other than 503).',
  );
  for (const failure of results.failures) lines.push(`- ${failure}`);
  lines.push('');
  const targets = evaluateTargets(results);
  if (targets.length) {
    lines.push('| target | measured | met |', '|---|---|---|');
    for (const target of targets)
      lines.push(`| ${target.target} | ${target.measured} | ${target.met === null ? '–' : target.met ? 'yes' : '**NO**'} |`);
    lines.push('');
  }
  const goals = evaluateGoals(results);
  if (goals.length) {
    lines.push(
      `## Goal (assign → cancel at ${GOALS.clients} clients, ${options.replicas} replica(s))`,
      '',
      '| goal | measured (medians) | met |',
      '|---|---|---|',
    );
    for (const goal of goals) lines.push(`| ${goal.goal} | ${goal.measured} | ${goal.met === null ? '–' : goal.met ? 'yes' : '**NO**'} |`);
    lines.push('');
  }
  if (results.load) {
    lines.push('## Load', '');
    const { idle } = results.load;
    if (idle) {
      lines.push(
        `Idle for ${fmt(idle.seconds)} s before the runs (no load, outbox drained), CPU per second: replicas ${fmt(idle.replicasMsPerSecond)} ms, ` +
          `lean processes ${fmt(idle.leanMsPerSecond)} ms, the bench database's PostgreSQL backends ${fmt(idle.postgresMsPerSecond)} ms (all processes of a group together).`,
        '',
      );
    }
    lines.push(...sideBySideTables(results.load.levels, options.webhooks), ...loadTables(results.load.levels));
    if (charts.throughput) lines.push(`![throughput](${charts.throughput})`, '');
    if (charts.latency) lines.push(`![latency](${charts.latency})`, '');
    lines.push('### Correctness after each run', '', ...correctnessTable(results.load.levels), '');
  }
  if (results.decisions) lines.push('## Decisions: long-poll wake-up and event fan-out', '', ...decisionsSection(results.decisions), '');
  if (results.profile) lines.push('## CPU profile', '', ...profileSection(results.profile), '');
  if (results.faults) lines.push('## Faults', '', ...faultsSection(results.faults), '');
  if (results.rolling) lines.push('## Rolling restart', '', ...rollingSection(results.rolling), '');
  if (results.soak) {
    const soak = results.soak;
    lines.push(
      '## Memory (soak)',
      '',
      `${soak.minutes} min of mixed load (${soak.clients} clients), ${fmt(soak.cyclesPerSecond)} cycles/s, errors ${JSON.stringify(soak.errors)}.`,
      '',
    );
    lines.push('| replica | RSS at start MiB | after 1 min | at end | max |', '|---|---|---|---|---|');
    for (const replica of soak.perReplica)
      lines.push(`| ${replica.replica} | ${replica.startMiB} | ${replica.afterOneMinuteMiB} | ${replica.endMiB} | ${replica.maxMiB} |`);
    lines.push('');
    if (charts.rss) lines.push(`![rss](${charts.rss})`, '');
  }
  if (results.webhooks) {
    const w = results.webhooks;
    lines.push(
      '## Webhook events (whole run)',
      '',
      `${w.events} events written by the service, ${w.received} distinct ids received (${w.duplicates} duplicate deliveries), ${w.lost} lost, ${w.undelivered} undelivered, ${w.receivedButNotInOutbox} unknown, ${w.badSignatures} bad signatures.`,
      '',
    );
  }
  if (results.serviceLog?.length) {
    lines.push('## What the replicas logged (warnings and errors)', '', '| replica | message | count |', '|---|---|---|');
    for (const entry of results.serviceLog) lines.push(`| ${entry.replica} | ${entry.message.replaceAll('|', '\\|')} | ${entry.count} |`);
    lines.push('');
  }
  if (results.scale) {
    lines.push('## Scale', '', ...scaleSection(results.scale));
    if (charts.scale) lines.push(`![scale](${charts.scale})`, '');
  }
  if (results.error) lines.push('## Harness error', '', '```', results.error, '```', '');
  return lines.join('\n');
}

export async function writeReport(results, outDir, stamp) {
  const charts = {};
  const chart = async (name, spec) => {
    const file = `${stamp}-${name}.svg`;
    writeFileSync(path.join(outDir, file), await renderSvg(spec));
    charts[name] = file;
  };
  if (results.load?.levels.length) {
    await chart('throughput', throughputSpec(results.load.levels));
    await chart('latency', latencySpec(results.load.levels));
  }
  if (results.soak) await chart('rss', rssSpec(results.soak.samples));
  if (results.scale) await chart('scale', scaleSpec(results.scale.endpoints));
  results.targets = evaluateTargets(results);
  results.goals = evaluateGoals(results);
  const json = path.join(outDir, `${stamp}.json`);
  const markdown = path.join(outDir, `${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(markdown, `${renderMarkdown(results, charts)}\n`);
  return { json, markdown, charts };
}
