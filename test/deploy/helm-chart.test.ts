import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { k8sTools } from '../helpers/k8s-tools.js';
import { validateK8sObject, type K8sObject } from '../helpers/k8s-validate.js';

const run = promisify(execFile);
const CHART = path.resolve(import.meta.dirname, '../../helm/floatlease');

/** The four value sets the chart is rendered with (acceptance of issue 19), as `--set` pairs. */
const VALUE_SETS: Record<string, string[]> = {
  defaults: [],
  'external PostgreSQL + external MQTT, 3 replicas': [
    'replicaCount=3',
    'database.cloudnativepg.enabled=false',
    'database.url=postgres://floatlease:secret@db.internal:5432/floatlease',
    'mqtt.url=mqtt://broker.internal:1883',
    'mqtt.username=floatlease-controller',
    'mqtt.password=broker-secret',
    'controller.trustProxy=1',
    'controller.historySampleMs=300000',
  ],
  'CloudNativePG + EMQX': ['replicaCount=2', 'database.cloudnativepg.enabled=true', 'mqtt.emqx.enabled=true', 'database.cloudnativepg.storage.storageClass=fast'],
  'ServiceMonitor + PrometheusRule + dashboard + Ingress': [
    'metrics.serviceMonitor.enabled=true',
    'metrics.prometheusRule.enabled=true',
    'metrics.dashboard.enabled=true',
    'ingress.enabled=true',
    'ingress.className=nginx',
    'ingress.tls[0].secretName=floatlease-tls',
    'ingress.tls[0].hosts[0]=floatlease.example.com',
    'controller.publicUrl=https://floatlease.example.com',
  ],
};

let helm: string;
const setArgs = (pairs: string[]) => pairs.flatMap((p) => ['--set', p]);

async function template(pairs: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ['template', 'fl', CHART, '--namespace', 'licensing', ...setArgs(pairs)], { maxBuffer: 32 << 20 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

async function templateError(pairs: string[]): Promise<string> {
  try {
    await run(helm, ['template', 'fl', CHART, ...setArgs(pairs)]);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`helm template accepted ${pairs.join(' ')}`);
}

const find = (objs: K8sObject[], kind: string, suffix = '') => {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
  expect(found, `${kind} *${suffix}`).toHaveLength(1);
  return found[0]!;
};
const kinds = (objs: K8sObject[]) => objs.map((o) => o.kind).sort();

interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  securityContext: Record<string, unknown>;
  volumes: { name: string; secret?: { secretName: string; defaultMode: number } }[];
  topologySpreadConstraints: unknown[];
  automountServiceAccountToken: boolean;
}
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const configData = (objs: K8sObject[]) => find(objs, 'ConfigMap', 'fl-floatlease').data as Record<string, string>;

describe('helm/floatlease', () => {
  const rendered: Record<string, K8sObject[]> = {};

  beforeAll(async () => {
    helm = (await k8sTools()).helm;
    for (const [name, pairs] of Object.entries(VALUE_SETS)) rendered[name] = await template(pairs);
  }, 120_000);

  it('lints clean (strict) for every value set', async () => {
    for (const pairs of Object.values(VALUE_SETS)) {
      const { stdout, stderr } = await run(helm, ['lint', CHART, '--strict', ...setArgs(pairs)]);
      expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(stdout + stderr).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it.each(Object.keys(VALUE_SETS))('renders %s, and every object validates against its kind', (name) => {
    const objs = rendered[name]!;
    expect(objs.length).toBeGreaterThan(5);
    const results = objs.map((o) => validateK8sObject(o));
    expect(results.filter((r) => r === 'schema').length).toBeGreaterThanOrEqual(6);
  });

  it('the validation can fail: a broken Deployment and a broken CRD are refused', () => {
    const deployment = structuredClone(find(rendered.defaults!, 'Deployment'));
    podSpec(deployment).containers[0]!.ports[0]!.containerPort = 'http' as unknown as number;
    expect(() => validateK8sObject(deployment)).toThrow(/Deployment\/fl-floatlease.*containerPort must be integer/);
    const cluster = structuredClone(find(rendered.defaults!, 'Cluster'));
    (cluster.spec as { instances: unknown }).instances = 'three';
    expect(() => validateK8sObject(cluster)).toThrow(/spec.instances/);
    expect(() => validateK8sObject({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).toThrow(/no schema known/);
  });

  it('defaults: one replica on a CloudNativePG Cluster with the embedded broker; hardened pod', () => {
    const objs = rendered.defaults!;
    expect(kinds(objs)).toEqual(['Cluster', 'ConfigMap', 'Deployment', 'Job', 'Secret', 'Secret', 'Service', 'ServiceAccount']);
    const deployment = find(objs, 'Deployment');
    expect((deployment.spec as { replicas: number }).replicas).toBe(1);
    const pod = podSpec(deployment);
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['dist/server/main.js', 'serve']);
    expect(c.env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'fl-floatlease-pg-app', key: 'uri' });
    expect(c.env.find((e) => e.name === 'ADMIN_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'fl-floatlease', key: 'admin-token' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet.path).toBe('/healthz');
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(c.resources.requests).toBeDefined();
    expect(pod.topologySpreadConstraints).toHaveLength(2);
    expect(pod.volumes.find((v) => v.name === 'signing-keys')?.secret).toEqual({ secretName: 'fl-floatlease-signing-keys', defaultMode: 0o400 });
    const cfg = configData(objs);
    expect(cfg).toMatchObject({ HOST: '0.0.0.0', PORT: '8080', METRICS_PORT: '9090', MQTT_EMBEDDED_HOST: '0.0.0.0', SIGNING_KEY_DIR: '/etc/floatlease/signing-keys', HISTORY_SAMPLE_MS: '60000' });
    expect(cfg.MQTT_URL).toBeUndefined();
    expect(c.ports.map((p) => p.name)).toEqual(['http', 'metrics', 'mqtt']);
    // The generated signing key is an Ed25519 PKCS#8 PEM the controller can read; the admin token has its form.
    const keys = find(objs, 'Secret', 'signing-keys').data as Record<string, string>;
    expect(Buffer.from(keys['signing-key.pem']!, 'base64').toString()).toMatch(/^-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw/);
    const secret = find(objs, 'Secret', 'fl-floatlease').data as Record<string, string>;
    expect(Buffer.from(secret['admin-token']!, 'base64').toString()).toMatch(/^fl_[A-Za-z0-9]{40}$/);
    // CloudNativePG's database appears with the release: its migration runs after install.
    expect(find(objs, 'Job', '-migrate').metadata.annotations?.['helm.sh/hook']).toBe('post-install,pre-upgrade');
  });

  it('external PostgreSQL + MQTT with 3 replicas: URLs in the Secret, a PDB, a pre-install migration hook', () => {
    const objs = rendered['external PostgreSQL + external MQTT, 3 replicas']!;
    expect(kinds(objs)).toEqual(['ConfigMap', 'Deployment', 'Job', 'PodDisruptionBudget', 'Secret', 'Secret', 'Secret', 'Service', 'ServiceAccount']);
    expect((find(objs, 'Deployment').spec as { replicas: number }).replicas).toBe(3);
    expect(find(objs, 'PodDisruptionBudget').spec).toMatchObject({ minAvailable: 1 });
    const cfg = configData(objs);
    expect(cfg).toMatchObject({ MQTT_URL: 'mqtt://broker.internal:1883', MQTT_USERNAME: 'floatlease-controller', TRUST_PROXY: '1', HISTORY_SAMPLE_MS: '300000' });
    expect(cfg.MQTT_EMBEDDED_HOST).toBeUndefined();
    const secret = find(objs, 'Secret', 'fl-floatlease').data as Record<string, string>;
    expect(Buffer.from(secret['database-url']!, 'base64').toString()).toBe('postgres://floatlease:secret@db.internal:5432/floatlease');
    expect(Buffer.from(secret['mqtt-password']!, 'base64').toString()).toBe('broker-secret');
    const job = find(objs, 'Job', '-migrate');
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const jobPod = podSpec(job);
    expect(jobPod.containers[0]!.args).toEqual(['dist/server/main.js', 'migrate']);
    // The release's Secret does not exist yet when a pre-install hook runs: the Job reads a hook Secret made before it.
    expect(jobPod.containers[0]!.env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'fl-floatlease-migrate', key: 'database-url' });
    const hookSecret = find(objs, 'Secret', '-migrate');
    expect(Number(hookSecret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations?.['helm.sh/hook-weight']));
    expect(podSpec(find(objs, 'Deployment')).containers[0]!.ports.map((p) => p.name)).toEqual(['http', 'metrics']);
  });

  it('CloudNativePG + EMQX: both operator resources, the controller pointed at them', () => {
    const objs = rendered['CloudNativePG + EMQX']!;
    expect(kinds(objs)).toEqual(['Cluster', 'ConfigMap', 'Deployment', 'EMQX', 'Job', 'PodDisruptionBudget', 'Secret', 'Secret', 'Service', 'ServiceAccount']);
    expect(find(objs, 'Cluster').spec).toMatchObject({ instances: 3, storage: { size: '10Gi', storageClass: 'fast' }, bootstrap: { initdb: { database: 'floatlease' } } });
    expect(find(objs, 'EMQX').spec).toMatchObject({ coreTemplate: { spec: { replicas: 3 } } });
    expect(configData(objs).MQTT_URL).toBe('mqtt://fl-floatlease-emqx-listeners:1883');
  });

  it('observability + Ingress: ServiceMonitor on the metrics port, rules and dashboard from files/, Ingress on the API port only', async () => {
    const objs = rendered['ServiceMonitor + PrometheusRule + dashboard + Ingress']!;
    expect(kinds(objs)).toEqual(['ConfigMap', 'ConfigMap', 'Cluster', 'Deployment', 'Ingress', 'Job', 'PrometheusRule', 'Secret', 'Secret', 'Service', 'ServiceAccount', 'ServiceMonitor'].sort());
    const sm = find(objs, 'ServiceMonitor').spec as { endpoints: { port: string; path: string }[] };
    expect(sm.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const rules = parseYaml(await fs.readFile(path.join(CHART, 'files/prometheus-rules.yaml'), 'utf8')) as { groups: unknown[] };
    expect(find(objs, 'PrometheusRule').spec).toEqual({ groups: rules.groups });
    const dashboard = find(objs, 'ConfigMap', '-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboardJson = JSON.parse(await fs.readFile(path.join(CHART, 'files/grafana-dashboard.json'), 'utf8')) as unknown;
    expect(JSON.parse((dashboard.data as Record<string, string>)['floatlease.json']!)).toEqual(dashboardJson);
    const ingress = find(objs, 'Ingress');
    expect(ingress.metadata.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600' });
    const backends = JSON.stringify(ingress.spec);
    expect(backends).toContain('"port":{"name":"http"}');
    expect(backends).not.toMatch(/metrics|9090/);
    const service = find(objs, 'Service').spec as { ports: { name: string; port: number }[] };
    expect(service.ports.find((p) => p.name === 'metrics')?.port).toBe(9090);
    expect(configData(objs).PUBLIC_URL).toBe('https://floatlease.example.com');
  });

  it('values.schema.json and the chart refuse bad value sets', async () => {
    expect(await templateError(['replicaCount=0'])).toMatch(/replicaCount: Must be greater than or equal to 1/);
    expect(await templateError(['controller.logLevel=loud'])).toMatch(/controller\.logLevel must be one of/);
    expect(await templateError(['mqtt.url=http://broker:1883', 'database.cloudnativepg.enabled=false', 'database.url=postgres://a:b@c/d'])).toMatch(/mqtt\.url: Does not match pattern/);
    expect(await templateError(['adminToken.value=hunter2'])).toMatch(/adminToken\.value: Does not match pattern/);
    expect(await templateError(['replicas=3'])).toMatch(/Additional property replicas is not allowed/);
    expect(await templateError(['controller.historySampleMs=0'])).toMatch(/controller\.historySampleMs: Must be greater than or equal to 1/);
    expect(await templateError(['service.port=http'])).toMatch(/service\.port: Invalid type/);
    // Combinations the schema cannot express fail the render with a reason.
    expect(await templateError(['replicaCount=2'])).toMatch(/more than one replica needs a shared broker/);
    expect(await templateError(['database.cloudnativepg.enabled=false'])).toMatch(/database: set database\.url/);
  });

  it('the NeuronEX sidecar example is valid and runs the image\'s agent entry point', async () => {
    const text = await fs.readFile(path.join(CHART, 'examples/agent-neuronex-sidecar.yaml'), 'utf8');
    const objs = parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
    for (const o of objs) expect(validateK8sObject(o)).toBe('schema');
    const pod = podSpec(find(objs, 'StatefulSet'));
    const agent = (pod.containers as (Container & { name: string })[]).find((c) => c.name === 'floatlease-agent')!;
    expect(agent.args).toEqual(['dist/agent/main.js']);
    expect(agent.env.map((e) => e.name)).toEqual(expect.arrayContaining(['FLOATLEASE_CONTROLLER_URL', 'FLOATLEASE_ACTIVATION_CODE', 'FLOATLEASE_GATEWAY_URL', 'FLOATLEASE_STATE_DIR']));
  });

  it('documents every value in the chart README', async () => {
    const readme = await fs.readFile(path.join(CHART, 'README.md'), 'utf8');
    const values = parseYaml(await fs.readFile(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    // Kubernetes structures passed through as they are: documented as one value each.
    const opaque = new Set(['podSecurityContext', 'securityContext', 'resources', 'migrations.job.resources', 'metrics.dashboard.labels']);
    const leaves: string[] = [];
    const walk = (o: unknown, prefix: string) => {
      if (o && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length > 0 && !opaque.has(prefix)) {
        for (const [k, v] of Object.entries(o)) walk(v, prefix ? `${prefix}.${k}` : k);
      } else leaves.push(prefix);
    };
    walk(values, '');
    const missing = leaves.filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});
