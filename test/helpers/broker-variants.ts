import { mosquittoInstalled, startMosquitto, type TestBroker } from './brokers.js';

/** One way to run the controller's MQTT side: its embedded broker, or a Mosquitto it provisions. */
export type BrokerVariant = { name: string; broker?: () => Promise<TestBroker>; env: (b?: TestBroker) => Record<string, string> };

/** A Mosquitto with dynamic security that the controller provisions (as user ctl). */
export const mosquittoDynsec: BrokerVariant = {
  name: 'Mosquitto with dynamic security',
  broker: () => startMosquitto({ dynsec: { username: 'ctl', password: 'ctl-secret' } }),
  env: (b) => ({ MQTT_URL: b!.url, MQTT_USERNAME: 'ctl', MQTT_PASSWORD: 'ctl-secret', MQTT_DYNSEC: 'true' }),
};

/** The embedded aedes broker, plus Mosquitto with dynamic security where it is installed. */
export function brokerVariants(mosquittoName = mosquittoDynsec.name): BrokerVariant[] {
  const variants: BrokerVariant[] = [{ name: 'embedded aedes', env: () => ({}) }];
  if (mosquittoInstalled()) variants.push({ ...mosquittoDynsec, name: mosquittoName });
  return variants;
}
