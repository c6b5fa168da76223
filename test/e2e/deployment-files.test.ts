import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { BUILT_MAIN, PROJECT_ROOT } from '../support/built-service.js';

// No container runtime, Kubernetes or helm binary runs these files here: the checks below keep
// them true to the service (its variables, routes, port, entry point, alert rules, benchmark).

const root = PROJECT_ROOT;
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');
const chart = 'ops/helm/engineer-review';

/**
 * Set by the deployment files and promised by the contract, but read by code that another branch
 * adds (PgBouncer beside a direct connection, the shutdown delay). Each entry must leave this list
 * once .env.example lists the variable: the first test fails until it does.
 */
function exampleVariables(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const match of read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)) entries.set(match[1]!, match[2]!);
  return entries;
}
const example = exampleVariables();
const knownVariable = (name: string): boolean => example.has(name);

/** The health routes as the controller declares them (@Controller('health') + @Get('live'), …). */
function healthRoutes(): string[] {
  const source = read('apps/api/src/health/health.controller.ts');
  const prefix = /@Controller\('([^']+)'\)/.exec(source)?.[1];
  return [...source.matchAll(/@Get\('([^']+)'\)/g)].map((match) => `/${prefix}/${match[1]}`);
}
const LIVE = '/health/live';
const READY = '/health/ready';
const defaultPort = example.get('PORT');

interface DockerStage {
  from: string;
  name?: string;
  instructions: { keyword: string; args: string }[];
}

function dockerStages(): DockerStage[] {
  const lines = read('Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: DockerStage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (keyword === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push({ keyword, args });
  }
  return stages;
}

const exec = (args: string): string[] => JSON.parse(args) as string[];

/**
 * A template's YAML without helm: lines that are only an action (a condition, an `end`, an included
 * or `toYaml` block) are dropped and every other action becomes the scalar `x`. What remains must
 * parse, with each field at its place: the indentation errors helm would render are caught here.
 */
function skeleton(template: string): any {
  const lines = template
    .split('\n')
    .filter(
      (line) =>
        !/^\s*\{\{-?\s*(?:if|else|end|with|range|define)\b.*\}\}\s*$/.test(line) && !/^\s*\{\{-?.*\|\s*nindent\s+\d+\s*\}\}\s*$/.test(line),
    )
    .map((line) => line.replace(/\{\{.*?\}\}/g, 'x'));
  return parse(lines.join('\n'));
}

describe('deployment files', () => {
  it('rest on what the service declares: its health routes, its default port', () => {
    expect(healthRoutes()).toEqual(expect.arrayContaining([LIVE, READY]));
    expect(defaultPort).toBe('3000');
  });

  describe('Dockerfile', () => {
    const stages = dockerStages();
    const runtime = stages.at(-1)!;
    const of = (stage: DockerStage, keyword: string) =>
      stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

    it('builds with every dependency and runs with production dependencies only', () => {
      expect(stages.length).toBeGreaterThanOrEqual(3);
      const build = stages.find((stage) => of(stage, 'RUN').some((run) => run.includes('npm run build')));
      expect(build && of(build, 'RUN').some((run) => /^npm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
      const copies = of(runtime, 'COPY');
      const modules = copies.find((copy) => copy.endsWith('./node_modules'));
      const source = stages.find((stage) => stage.name === /--from=(\S+)/.exec(modules ?? '')?.[1]);
      expect(source && of(source, 'RUN').some((run) => /^npm ci\b.*--omit=dev/.test(run)), modules).toBe(true);
      expect(copies).toContain(`--from=${build!.name} /app/dist ./dist`);
    });

    it('runs the built entry point that npm run build produces, as a non-root user, stopping on SIGTERM', () => {
      const [command] = of(runtime, 'CMD');
      expect(exec(command!)).toEqual(['node', path.relative(root, BUILT_MAIN)]);
      expect(existsSync(BUILT_MAIN), 'npm run build first').toBe(true);
      const nest = JSON.parse(read('nest-cli.json')) as { projects: { api: { sourceRoot: string; entryFile: string } } };
      expect(path.relative(root, BUILT_MAIN)).toBe(path.join('dist', nest.projects.api.sourceRoot, `${nest.projects.api.entryFile}.js`));
      expect(of(runtime, 'USER')).toHaveLength(1);
      expect(of(runtime, 'USER')[0]).not.toMatch(/^(root|0)(:|$)/);
      expect(of(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
      const everyRun = [...of(runtime, 'CMD'), ...of(runtime, 'ENTRYPOINT')].join(' ');
      expect(everyRun).not.toMatch(/\b(npm|npx|curl|wget)\b/);
    });

    it('checks health on the liveness route and port, and exposes the port it listens on', () => {
      const [healthcheck] = of(runtime, 'HEALTHCHECK');
      expect(healthcheck).toContain(LIVE);
      expect(healthcheck).toContain('process.env.PORT || 3000');
      const env = of(runtime, 'ENV').join(' ');
      expect(env).toMatch(new RegExp(`\\bPORT=${defaultPort}\\b`));
      expect(of(runtime, 'EXPOSE')).toEqual([defaultPort]);
      // PATH is the shell's (it makes the workspace package's command runnable), not a setting of the service.
      for (const [, name] of env.matchAll(/\b([A-Z][A-Z0-9_]*)=/g)) if (name !== 'PATH') expect(knownVariable(name!), name).toBe(true);
    });

    it('ships what the service reads at run time: package.json (ESM), the migrations and the migration tool', () => {
      const copies = of(runtime, 'COPY');
      expect(copies).toContain('package.json ./');
      expect((JSON.parse(read('package.json')) as { type: string }).type).toBe('module');
      expect(copies).toContain('prisma ./prisma');
      // db:migrate is the command of a workspace package: the image needs the package's folder (its
      // node_modules entry is a link to it) and node_modules/.bin on PATH, as npm run has it.
      const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['db:migrate']!;
      const owner = readdirSync(path.join(root, 'packages')).find((folder) => {
        const manifest = JSON.parse(read(path.join('packages', folder, 'package.json'))) as { bin?: Record<string, string> };
        return manifest.bin?.[script] !== undefined;
      });
      expect(owner, script).toBeDefined();
      expect(copies).toContain(`packages/${owner} ./packages/${owner}`);
      expect(of(runtime, 'ENV').join(' ')).toMatch(/\bPATH=\/app\/node_modules\/\.bin:\$PATH\b/);
    });

    it('copies only files that exist and that .dockerignore lets into the context', () => {
      const ignored = read('.dockerignore')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'));
      expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.env', '.git']));
      const fromContext = stages.flatMap((stage) => of(stage, 'COPY').filter((copy) => !copy.startsWith('--from')));
      for (const copy of fromContext) {
        const sources = copy.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          expect(existsSync(path.join(root, source)), source).toBe(true);
          expect(ignored, source).not.toContain(source);
        }
      }
    });
  });

  describe('compose.yaml', () => {
    const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, any> };
    const services = compose.services;
    const replicas = Object.entries(services).filter(([, service]) => service.build === '.' && !service.command);

    it('runs two replicas of the image, through PgBouncer, beside a direct connection, after a one-shot migration', () => {
      expect(replicas.map(([name]) => name)).toHaveLength(2);
      for (const [name, service] of replicas) {
        const env = service.environment as Record<string, string>;
        for (const variable of Object.keys(env)) expect(knownVariable(variable), `${name}: ${variable}`).toBe(true);
        expect(new URL(env.DATABASE_URL!).hostname).toBe('pgbouncer');
        expect(new URL(env.DATABASE_DIRECT_URL!).hostname).toBe('postgres');
        expect(services[new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT!).hostname], 'collector service').toBeDefined();
        expect(services[new URL(env.REDIS_URL!).hostname], 'redis service').toBeDefined();
        expect(env.PORT).toBe(defaultPort);
        expect(service.depends_on.migrate.condition).toBe('service_completed_successfully');
      }
      const migrate = services.migrate;
      const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['db:migrate'];
      expect(migrate.command.join(' ')).toBe(script);
      expect(new URL(migrate.environment.DATABASE_URL).hostname).toBe('postgres');
    });

    it('mounts only files that exist', () => {
      for (const [name, service] of Object.entries(services)) {
        for (const volume of (service.volumes ?? []) as string[]) {
          const [source] = volume.split(':');
          if (source!.startsWith('./')) expect(existsSync(path.join(root, source!)), `${name}: ${source}`).toBe(true);
        }
      }
    });

    it('balances over the replicas with HAProxy following /health/ready on their port', () => {
      const cfg = read('ops/haproxy/haproxy.cfg');
      expect(services.haproxy.volumes).toContain('./ops/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
      expect(cfg).toMatch(new RegExp(`http-check send meth GET uri ${READY}\\n`));
      expect(cfg).toMatch(/http-check expect status 200\n/);
      const servers = [...cfg.matchAll(/^\s*server\s+\S+\s+([\w.-]+):(\d+)\s+check\b/gm)].map((match) => [match[1], match[2]]);
      expect(servers).toEqual(replicas.map(([name]) => [name, defaultPort]));
    });

    it('pools transactions in PgBouncer, with room for every replica connection', () => {
      const ini = read('ops/pgbouncer/pgbouncer.ini');
      expect(ini).toMatch(/^pool_mode = transaction$/m);
      const serverPool = Number(/^default_pool_size = (\d+)$/m.exec(ini)?.[1]);
      const clients = replicas.reduce((sum, [, service]) => sum + Number(service.environment.DATABASE_POOL_MAX), 0);
      expect(clients).toBeGreaterThan(0);
      expect(clients).toBeLessThanOrEqual(serverPool);
      const url = new URL(replicas[0]![1].environment.DATABASE_URL);
      expect(ini).toMatch(new RegExp(`^listen_port = ${url.port}$`, 'm'));
      expect(ini).toMatch(new RegExp(`^${url.pathname.slice(1)} = host=postgres port=5432 dbname=${url.pathname.slice(1)}$`, 'm'));
      expect(read('ops/pgbouncer/userlist.txt')).toContain(`"${url.username}" "${decodeURIComponent(url.password)}"`);
    });

    it('scrapes the replicas with their metrics token and loads the alert rules', () => {
      const prometheus = parse(read('ops/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: any[] };
      const [scrape] = prometheus.scrape_configs;
      expect(scrape.static_configs[0].targets).toEqual(replicas.map(([name]) => `${name}:${defaultPort}`));
      const mounts = services.prometheus.volumes as string[];
      expect(mounts).toContain(`./ops/compose/metrics-token:${scrape.authorization.credentials_file}:ro`);
      expect(read('ops/compose/metrics-token')).toBe(replicas[0]![1].environment.METRICS_TOKEN);
      for (const rules of prometheus.rule_files) expect(mounts).toContain(`./ops/prometheus/${rules}:/etc/prometheus/${rules}:ro`);
    });

    it('provisions Grafana with Prometheus and the dashboard, and sends traces through the collector to Jaeger', () => {
      const datasources = parse(read('ops/grafana/provisioning/datasources/prometheus.yaml')) as { datasources: { url: string }[] };
      expect(services[new URL(datasources.datasources[0]!.url).hostname]).toBe(services.prometheus);
      const dashboards = parse(read('ops/grafana/provisioning/dashboards/engineer-review.yaml')) as {
        providers: { options: { path: string } }[];
      };
      expect(services.grafana.volumes).toContain(
        `./ops/grafana/engineer-review.json:${dashboards.providers[0]!.options.path}/engineer-review.json:ro`,
      );
      const dashboard = JSON.parse(read('ops/grafana/engineer-review.json')) as { templating: { list: { name: string; type: string }[] } };
      // Panels name their data source ${DS_PROMETHEUS}: a provisioned dashboard needs it as a variable.
      expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource' }));
      const collector = parse(read('ops/otel-collector/config.yaml')) as {
        receivers: any;
        exporters: Record<string, { endpoint: string }>;
      };
      const otlpPort = new URL(replicas[0]![1].environment.OTEL_EXPORTER_OTLP_ENDPOINT).port;
      expect(collector.receivers.otlp.protocols.http.endpoint).toBe(`0.0.0.0:${otlpPort}`);
      const [exporter] = Object.values(collector.exporters);
      expect(services[exporter!.endpoint.split(':')[0]!]).toBe(services.jaeger);
    });
  });

  describe(`Helm chart ${chart}`, () => {
    const values = parse(read(`${chart}/values.yaml`)) as Record<string, any>;
    const templates = readdirSync(path.join(root, chart, 'templates')).map((file) => ({ file, text: read(`${chart}/templates/${file}`) }));
    const template = (file: string): string => templates.find((candidate) => candidate.file === file)!.text;

    it('refers only to values that values.yaml defines', () => {
      const missing: string[] = [];
      for (const { file, text } of templates) {
        for (const [, keyPath] of text.matchAll(/\.Values((?:\.\w+)+)/g)) {
          let node: unknown = values;
          for (const key of keyPath!.slice(1).split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
          if (node === undefined) missing.push(`${file}: .Values${keyPath}`);
        }
      }
      expect(missing).toEqual([]);
    });

    it('lays out valid YAML around its template actions, each kind where Kubernetes expects its fields', () => {
      const kinds = Object.fromEntries(
        templates.filter(({ file }) => file.endsWith('.yaml')).map(({ file, text }) => [file, skeleton(text)]),
      );
      expect(Object.fromEntries(Object.entries(kinds).map(([file, doc]) => [file, `${doc.apiVersion} ${doc.kind}`]))).toEqual({
        'deployment.yaml': 'apps/v1 Deployment',
        'hpa.yaml': 'autoscaling/v2 HorizontalPodAutoscaler',
        'migration-job.yaml': 'batch/v1 Job',
        'pdb.yaml': 'policy/v1 PodDisruptionBudget',
        'prometheusrule.yaml': 'monitoring.coreos.com/v1 PrometheusRule',
        'service.yaml': 'v1 Service',
        'servicemonitor.yaml': 'monitoring.coreos.com/v1 ServiceMonitor',
      });
      const [container] = kinds['deployment.yaml'].spec.template.spec.containers;
      expect(container.ports).toEqual([{ name: 'http', containerPort: 'x' }]);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet.port, probe).toBe('http');
      expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
      expect(container.envFrom[0].secretRef).toHaveProperty('name');
      expect(kinds['deployment.yaml'].spec.template.spec).toHaveProperty('terminationGracePeriodSeconds');
      const job = kinds['migration-job.yaml'].spec.template.spec;
      expect(job.restartPolicy).toBe('Never');
      expect(job.containers[0].env[0].valueFrom.secretKeyRef).toHaveProperty('key');
      expect(kinds['service.yaml'].spec.ports[0].targetPort).toBe('http');
      expect(kinds['servicemonitor.yaml'].spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    });

    it('has balanced template actions', () => {
      for (const { file, text } of templates) {
        expect(text.split('{{').length, file).toBe(text.split('}}').length);
        const opened = [...text.matchAll(/\{\{-?\s*(if|with|range|define)\b/g)].length;
        const closed = [...text.matchAll(/\{\{-?\s*end\b/g)].length;
        expect(closed, file).toBe(opened);
      }
    });

    it('probes the real routes on the port the service listens on', () => {
      const deployment = template('deployment.yaml');
      expect(String(values.port)).toBe(defaultPort);
      expect(deployment).toMatch(/- name: PORT\n\s+value: \{\{ \.Values\.port \| quote \}\}/);
      expect(deployment).toMatch(/containerPort: \{\{ \.Values\.port \}\}/);
      const probes = Object.fromEntries(
        [...deployment.matchAll(/(startupProbe|readinessProbe|livenessProbe):\n\s+httpGet:\n\s+path: (\S+)\n\s+port: (\S+)/g)].map(
          (match) => [match[1], [match[2], match[3]]],
        ),
      );
      expect(probes).toEqual({ startupProbe: [LIVE, 'http'], readinessProbe: [READY, 'http'], livenessProbe: [LIVE, 'http'] });
    });

    it('sets only variables that .env.example lists, secrets by reference to an existing Secret', () => {
      const names = [...template('deployment.yaml').matchAll(/- name: ([A-Z][A-Z0-9_]*)\n/g)].map((match) => match[1]!);
      for (const name of [...names, ...Object.keys(values.env)]) expect(knownVariable(name), name).toBe(true);
      expect(template('deployment.yaml')).toMatch(
        /envFrom:\n\s+- secretRef:\n\s+name: \{\{ required "existingSecret is required" \.Values\.existingSecret \}\}/,
      );
      expect(templates.map(({ text }) => text).join('\n')).not.toMatch(/kind: Secret\b/);
    });

    it('lets a terminating pod serve out the preStop sleep and SHUTDOWN_DELAY_SECONDS, then drain, within its grace period', () => {
      const deployment = template('deployment.yaml');
      expect(values.shutdown.delaySeconds).toBe(Number(example.get('SHUTDOWN_DELAY_SECONDS') ?? 5));
      expect(deployment).toMatch(/- name: SHUTDOWN_DELAY_SECONDS\n\s+value: \{\{ \.Values\.shutdown\.delaySeconds \| quote \}\}/);
      expect(deployment).toContain('command: ["sleep", {{ .Values.shutdown.preStopSleepSeconds | quote }}]');
      expect(deployment).toContain(
        'terminationGracePeriodSeconds: {{ add .Values.shutdown.preStopSleepSeconds .Values.shutdown.delaySeconds .Values.shutdown.drainSeconds }}',
      );
      expect(values.shutdown.preStopSleepSeconds).toBeGreaterThan(0);
      expect(values.shutdown.drainSeconds).toBeGreaterThan(0);
    });

    it('migrates before install and upgrade on the direct connection, with the image db:migrate tool', () => {
      const job = template('migration-job.yaml');
      expect(job).toContain('"helm.sh/hook": pre-install,pre-upgrade');
      const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['db:migrate'];
      const command = exec(/command: (\[.*\])/.exec(job)![1]!);
      expect(command.join(' ')).toBe(script);
      expect(values.migration.databaseUrlKey).toBe('DATABASE_DIRECT_URL');
      expect(job).toMatch(
        /- name: DATABASE_URL\n\s+valueFrom:\n\s+secretKeyRef:\n[^\n]+\n\s+key: \{\{ \.Values\.migration\.databaseUrlKey \}\}/,
      );
      // The Service and the PodDisruptionBudget select the replicas by these labels: not the job's pods.
      expect(job).not.toContain('engineer-review.selectorLabels');
    });

    it('generates its PrometheusRule from the same rules as ops/prometheus/alerts.yml', () => {
      expect(read(`${chart}/files/alerts.yml`)).toBe(read('ops/prometheus/alerts.yml'));
      const rule = template('prometheusrule.yaml');
      expect(rule).toMatch(/kind: PrometheusRule\n/);
      expect(rule).toMatch(/spec:\n\s+\{\{- \.Files\.Get "files\/alerts\.yml" \| nindent 2 \}\}/);
      const alerts = parse(read('ops/prometheus/alerts.yml')) as Record<string, unknown>;
      expect(Object.keys(alerts)).toEqual(['groups']);
    });

    it('has a PodDisruptionBudget, an autoscaler, and a ServiceMonitor with the metrics token', () => {
      expect(template('pdb.yaml')).toContain('kind: PodDisruptionBudget');
      expect(values.podDisruptionBudget.maxUnavailable).toBeLessThan(values.autoscaling.minReplicas);
      expect(template('hpa.yaml')).toContain('kind: HorizontalPodAutoscaler');
      const monitor = template('servicemonitor.yaml');
      expect(monitor).toMatch(/- port: http\n\s+path: \/metrics\n/);
      expect(values.serviceMonitor.metricsTokenKey).toBe('METRICS_TOKEN');
    });

    it('requests resources sized from the benchmark figures in bench/README.md', () => {
      const memoryRows = read('bench/README.md').split('### Memory')[1]!.split('\n### ')[0]!;
      const rss = [...memoryRows.matchAll(/^\|[^|]*\| \d \| (\d+) MiB \| (\d+) MiB \| (\d+) MiB \| (\d+) MiB \|/gm)].map((row) =>
        row.slice(1, 5).map(Number),
      );
      expect(rss.length).toBeGreaterThanOrEqual(2);
      const mebibytes = (quantity: string): number => Number(/^(\d+)Mi$/.exec(quantity)![1]);
      // The limit clears the highest RSS seen by a quarter; the request covers every steady state (the RSS at the end of a soak).
      expect(mebibytes(values.resources.limits.memory)).toBeGreaterThanOrEqual(Math.max(...rss.map((row) => row[3]!)) * 1.25);
      expect(mebibytes(values.resources.requests.memory)).toBeGreaterThanOrEqual(Math.max(...rss.map((row) => row[2]!)));
      expect(values.resources.requests.cpu).toMatch(/^\d+m$/);
      expect(values.resources.limits.cpu).toBeUndefined();
    });
  });
});
