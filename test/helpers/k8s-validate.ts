import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

type Model = new (data: never) => { validate(): void };

/** Kinds with a published OpenAPI schema (kubernetes-models, prometheus-operator models). */
const MODELS: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/**
 * CRDs without a schema package on npm (CloudNativePG Cluster, EMQX operator EMQX): their metadata is
 * validated as an ObjectMeta and the spec fields the chart sets are checked by hand against the
 * operators' documented types. Unknown fields are not caught for these, nor (as in the API server's
 * default mode) for the kinds above.
 */
const CRD_SPECS: Record<string, (spec: Record<string, unknown>) => string[]> = {
  'postgresql.cnpg.io/v1/Cluster': (spec) => {
    const problems: string[] = [];
    if (!Number.isInteger(spec.instances) || (spec.instances as number) < 1) problems.push('spec.instances must be an integer ≥ 1');
    const storage = spec.storage as { size?: unknown } | undefined;
    if (typeof storage?.size !== 'string') problems.push('spec.storage.size must be a quantity string');
    const initdb = (spec.bootstrap as { initdb?: { database?: unknown; owner?: unknown } } | undefined)?.initdb;
    if (typeof initdb?.database !== 'string' || typeof initdb.owner !== 'string') problems.push('spec.bootstrap.initdb needs database and owner');
    return problems;
  },
  'apps.emqx.io/v2beta1/EMQX': (spec) => {
    const problems: string[] = [];
    if (typeof spec.image !== 'string' || spec.image === '') problems.push('spec.image must be a non-empty string');
    const replicas = (spec.coreTemplate as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    if (!Number.isInteger(replicas) || (replicas as number) < 1) problems.push('spec.coreTemplate.spec.replicas must be an integer ≥ 1');
    if (spec.config !== undefined && typeof (spec.config as { data?: unknown }).data !== 'string') problems.push('spec.config.data must be a string');
    return problems;
  },
};

/** Throws with the object's kind/name and the schema's complaint when it is not a valid object of its kind. */
export function validateK8sObject(obj: K8sObject): 'schema' | 'crd-partial' {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const where = `${obj.kind}/${obj.metadata?.name ?? '(no name)'}`;
  const model = MODELS[key];
  try {
    if (model) {
      new model(obj as never).validate();
      return 'schema';
    }
    const spec = CRD_SPECS[key];
    if (!spec) throw new Error(`no schema known for ${key}`);
    // A ConfigMap carrying only the metadata: its schema checks the ObjectMeta (name, labels, annotations).
    new ConfigMap({ metadata: obj.metadata } as never).validate();
    const problems = spec((obj.spec ?? {}) as Record<string, unknown>);
    if (problems.length) throw new Error(problems.join('; '));
    return 'crd-partial';
  } catch (err) {
    throw new Error(`${where} (${key}): ${(err as Error).message}`, { cause: err });
  }
}
