import type { NodeType } from './neuron-model.js';

export interface PluginInfo {
  /** Display name, as used in `POST /node {plugin}` and in `enabledPlugins`. */
  readonly name: string;
  readonly nodeType: NodeType;
  /** Commercial plugins need the license to enable them (error 2403 otherwise). */
  readonly commercial: boolean;
  readonly library: string;
  readonly schema: string;
  /** Size of the plugin's built-in tag list for `POST /tags/import`; 0 = import unsupported. */
  readonly importTags: number;
}

function plugin(name: string, nodeType: NodeType, commercial: boolean, schema: string, importTags: number): PluginInfo {
  return Object.freeze({ name, nodeType, commercial, library: `libplugin-${schema}.so`, schema, importTags });
}

const SOUTH = 1;
const NORTH = 2;

export const DEFAULT_PLUGINS: readonly PluginInfo[] = Object.freeze([
  plugin('Modbus TCP', SOUTH, false, 'modbus-tcp', 10),
  plugin('Modbus RTU', SOUTH, false, 'modbus-rtu', 10),
  plugin('File', SOUTH, false, 'file', 0),
  plugin('OPC UA', SOUTH, true, 'opcua', 20),
  plugin('Siemens S7 ISOTCP', SOUTH, true, 's7comm', 12),
  plugin('BACnet/IP', SOUTH, true, 'bacnet', 16),
  plugin('IEC 60870-5-104', SOUTH, true, 'iec104', 8),
  plugin('KNXnet/IP', SOUTH, true, 'knx', 6),
  plugin('Omron FINS TCP', SOUTH, true, 'fins', 10),
  plugin('Mitsubishi 3E', SOUTH, true, 'qna3e', 10),
  plugin('DLT645-2007', SOUTH, true, 'dlt645', 8),
  plugin('EtherNet/IP(CIP)', SOUTH, true, 'ethernet-ip', 10),
  // NeuronEX's CNC drivers, kept out of the free allowance by NeuronEX's license policy.
  plugin('FANUC CNC', SOUTH, true, 'focas', 10),
  plugin('MQTT', NORTH, false, 'mqtt', 0),
  plugin('eKuiper', NORTH, false, 'ekuiper', 0),
  plugin('WebSocket', NORTH, false, 'websocket', 0),
]);

