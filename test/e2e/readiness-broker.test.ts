import { afterAll, describe, expect, it } from 'vitest';
import { allowAll, mosquittoInstalled, startAedes, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const brokers: [string, () => Promise<TestBroker>][] = [['aedes', () => startAedes(allowAll)]];
if (mosquittoInstalled()) {
  brokers.push(['mosquitto', () => startMosquitto({ users: [{ username: 'controller', password: 'pw-controller' }] })]);
}

describe.each(brokers)('/readyz follows an external %s broker', (_kind, makeBroker) => {
  let db: TestDatabase | undefined;
  let broker: TestBroker | undefined;
  let controller: ControllerProcess | undefined;
  afterAll(async () => {
    await controller?.stop('SIGKILL');
    await broker?.dispose();
    await db?.drop();
  });

  it('turns 503 naming the broker while it is down, and 200 after it returns', async () => {
    db = await createTestDatabase();
    broker = await makeBroker();
    controller = await startControllerProcess({
      DATABASE_URL: db.url,
      MQTT_URL: broker.url,
      MQTT_USERNAME: 'controller',
      MQTT_PASSWORD: 'pw-controller',
    });
    const readyz = async () => {
      const res = await fetch(`${controller!.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { down?: string[] } };
    };
    expect((await readyz()).status).toBe(200);

    await broker.stop();
    const down = await waitFor('readyz 503', async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    });
    expect(down.body.down).toEqual(['broker']);

    await broker.restart();
    await waitFor('readyz 200', async () => (await readyz()).status === 200, { timeoutMs: 20_000 });
  }, 60_000);
});
