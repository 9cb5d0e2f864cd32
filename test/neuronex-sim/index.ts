export { startNeuronSimulator, randomHardwareToken, SIM_HOST, type NeuronSimulator, type NeuronSimulatorOptions } from './neuron-simulator.js';
export { NeuronState, RESERVED_NODE_NAMES, type AddNodeInput } from './neuron-state.js';
export { LicenseState } from './license-state.js';
export { encodeSimLicense, formatLicenseDate, FREE_ALLOWANCE, type LicenseTerms, type LicenseType, type SimLicenseDocument } from './license-terms.js';
export { NeuronError, NeuronExError, httpStatusFor } from './errors.js';
export { DEFAULT_PLUGINS, commercialPluginNames, openSourcePluginNames, type PluginInfo } from './plugins.js';
export { RunningState, type NodeType, type SimGroup, type SimNode, type SimTag, type TagBatchResult } from './neuron-model.js';
export { IMPORT_GROUP, type GroupTagsInput } from './tag-batch.js';
export { Attribute, type TagInput } from './tag-rules.js';
