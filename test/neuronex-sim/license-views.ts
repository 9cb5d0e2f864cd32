import { NeuronError } from './errors.js';
import { formatLicenseDate, type LicenseTerms } from './license-terms.js';
import type { NeuronState } from './neuron-state.js';

const CORE_LICENSE_TYPE: Record<LicenseTerms['type'], string> = {
  TRIAL: 'trial',
  OFFCIAL: 'retail',
  VIRTUAL: 'virtual',
};

/** The license state a core `GET /license` reports in `error`: expired first, then over-use. */
export function usageError(terms: LicenseTerms, state: NeuronState, expired: boolean): number {
  if (expired) return NeuronError.LICENSE_EXPIRED;
  if (state.nodeCount() > terms.maxNodes) return NeuronError.LICENSE_MAX_NODES;
  if (state.tagCount() > terms.maxTags) return NeuronError.LICENSE_MAX_TAGS;
  return 0;
}

/** Neuron core `GET /api/v2/license` (neuronex.md §4.2), with live usage. */
export function coreLicenseView(state: NeuronState): Record<string, unknown> {
  const lic = state.license;
  const terms = lic.effective();
  return {
    valid_since: formatLicenseDate(terms.startDate),
    valid_until: formatLicenseDate(terms.expiredDate),
    valid: lic.isValid(),
    max_nodes: terms.maxNodes,
    max_node_tags: terms.maxTags,
    used_nodes: state.nodeCount(),
    used_tags: state.tagCount(),
    license_type: CORE_LICENSE_TYPE[terms.type],
    error: usageError(terms, state, lic.isExpired()),
    enabled_plugins: [...terms.enabledPlugins],
    hardware_token: lic.hardwareToken,
    object: terms.customerName,
    email_address: terms.officialEmail,
  };
}

/** NeuronEX `GET /api/license` (swagger field names, §4.1). */
export function neuronExLicenseView(state: NeuronState): Record<string, unknown> {
  const lic = state.license;
  const terms = lic.effective();
  return {
    licenseType: terms.type,
    customerName: terms.customerName,
    customerContact: terms.customerContact,
    startDate: formatLicenseDate(terms.startDate),
    expiredDate: formatLicenseDate(terms.expiredDate),
    expired: lic.isExpired(),
    totalTagCount: terms.maxTags,
    usedTagCount: state.tagCount(),
    enabledPlugins: [...terms.enabledPlugins],
    hardwareToken: lic.hardwareToken,
    ekuiperOn: true,
    officialEmail: terms.officialEmail,
  };
}

/** `POST /api/license` answers the same object with the type field named `type`. */
export function neuronExUploadView(state: NeuronState): Record<string, unknown> {
  const { licenseType, ...rest } = neuronExLicenseView(state);
  return { type: licenseType, ...rest };
}
