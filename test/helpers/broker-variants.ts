import { mosquittoInstalled, startMosquitto, type TestBroker } from './brokers.js';

/** One way to run the controller's MQTT side: its embedded broker, or a Mosquitto it provisions. */
export type BrokerVariant = { name: string; broker?: () => Promise<TestBroker>; env: (b?: TestBroker) => Record<string, string> };

/** The embedded aedes broker, plus Mosquitto with dynamic security where it is installed. */
export function brokerVariants(mosquittoName = 'Mosquitto with dynamic security'): BrokerVariant[] {
  const variants: BrokerVariant[] = [{ name: 'embedded aedes', env: () => ({}) }];
  if (mosquittoInstalled()) {
    variants.push({
      name: mosquittoName,
      broker: () => startMosquitto({ dynsec: { username: 'ctl', password: 'ctl-secret' } }),
      env: (b) => ({ MQTT_URL: b!.url, MQTT_USERNAME: 'ctl', MQTT_PASSWORD: 'ctl-secret', MQTT_DYNSEC: 'true' }),
    });
  }
  return variants;
}
