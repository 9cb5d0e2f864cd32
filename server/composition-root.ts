import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { openDatabase } from './db/database.js';
import { startEmbeddedPostgres } from './db/embedded-postgres.js';
import { migrateDatabase } from './db/migrate.js';
import { healthRoutes } from './health/health-routes.js';
import type { Logger } from './logger.js';
import { Server as SocketServer } from 'socket.io';
import { LISTEN_BACKLOG, startEmbeddedBroker } from './mqtt/embedded-broker.js';
import { gatewayAuthorizer } from './mqtt/gateway-authorizer.js';
import { FailureCounter } from './http/rate-limits.js';
import { MalformedInput } from './leases/malformed-input.js';
import { agentClientId } from '../shared/protocol/mqtt-topics.js';
import { MqttAgentBridge } from './mqtt/mqtt-agent-bridge.js';
import { runHelloRound } from './mqtt/hello-round.js';
import { DynsecProvisioner } from './mqtt/dynsec-provisioner.js';
import type { MqttClient } from 'mqtt';
import { AgentHandler } from './leases/agent-handler.js';
import { AgentNamespaceGateway } from './realtime/agent-namespace.js';
import { ConsoleNamespace } from './realtime/console-namespace.js';
import { startConsoleAssets } from './console/console-assets.js';
import { connectMqtt } from './mqtt/mqtt-connection.js';
import { clientLink, type BrokerLink } from './mqtt/broker-link.js';
import { buildApiRouter } from './http-routes.js';
import { createServices } from './services.js';
import { ShutdownStack } from './shutdown-stack.js';
import { ControllerMetrics } from './metrics/controller-metrics.js';
import { httpMetrics, metricsRoutes } from './metrics/metrics-routes.js';
import { poolSnapshotSource } from './metrics/pool-snapshot.js';
import { startSweeper } from './leases/sweeper.js';
import { startHistoryRollup } from './history/history-service.js';
import { startElasticResizer } from './elastic/elastic-resizer.js';
import { AgentSocketStore, socketHeldAnywhere } from './replicas/agent-socket-store.js';
import { ReplicaMembership } from './replicas/replica-membership.js';
import { attachPostgresAdapter } from './replicas/socket-adapter.js';
import { AGENT_NAMESPACE } from '../shared/protocol/socket-events.js';
import { CONSOLE_NAMESPACE } from '../shared/protocol/console-events.js';
import { markAllOfflineAtStart } from './leases/presence-reconciler.js';
import { connectionBudget } from './db/connection-budget.js';

export interface RunningController {
  readonly url: string;
  readonly mqttUrl: string;
  /** Where /metrics is served: `url` unless METRICS_PORT gives it a listener of its own. */
  readonly metricsUrl: string;
  close(): Promise<void>;
}

/** Wires config → database → broker → services → transports → HTTP, and undoes it in reverse. */
export async function startController(config: Config, logger: Logger, onFatal: (err: Error) => void = () => {}): Promise<RunningController> {
  const stack = new ShutdownStack(logger);
  try {
    // Traverse-only for others: as root, the embedded PostgreSQL runs as user postgres below it.
    await fs.mkdir(config.dataDir, { recursive: true, mode: 0o711 });
    await fs.chmod(config.dataDir, 0o711).catch((err: NodeJS.ErrnoException) => {
      // A volume owned by someone else (a Kubernetes emptyDir, root:fsGroup 2777): its mode is the volume's.
      if (err.code !== 'EPERM' && err.code !== 'EROFS') throw err;
      logger.debug({ dir: config.dataDir, code: err.code }, 'data folder mode left as its volume set it');
    });

    let databaseUrl = config.database.url;
    let databaseAlive = () => true;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres({
        dir: path.join(config.dataDir, 'postgres'),
        port: config.database.embeddedPort,
        logger: logger.child({ component: 'embedded-postgres' }),
        onUnrecoverable: onFatal,
      });
      databaseAlive = () => pg.healthy();
      stack.push('embedded-postgres', () => pg.stop());
      databaseUrl = pg.url;
    }
    await migrateDatabase(databaseUrl);
    const budget = connectionBudget(config.database.poolMax);
    const database = openDatabase(databaseUrl, budget.poolMax);
    stack.push('database', () => database.close());

    let brokerAt: { link: BrokerLink; url: string } | undefined;
    let dynsecClient: MqttClient | undefined;
    if (config.mqtt.url) {
      const mqtt = connectMqtt({
        url: config.mqtt.url,
        username: config.mqtt.username,
        password: config.mqtt.password,
        // Stable per replica (REPLICA_ID, e.g. the pod name) so its persistent session is found again.
        clientId: `floatlease-controller-${config.replicas.id}`,
        sessionExpirySec: config.mqtt.sessionExpirySec,
        logger: logger.child({ component: 'mqtt' }),
      });
      stack.push('mqtt', () => mqtt.close());
      brokerAt = { link: clientLink(mqtt.client), url: config.mqtt.url };
      dynsecClient = mqtt.client;
    }

    let credentials: DynsecProvisioner | undefined;
    if (config.mqtt.dynsec && dynsecClient) {
      credentials = new DynsecProvisioner(dynsecClient, config.mqtt.username ?? '', logger.child({ component: 'dynsec' }));
      await waitForConnect(dynsecClient, 15_000);
      await credentials.start();
    }
    // Metrics are created before the transports they count; the socket gateway is set below.
    const ws: { gateway?: AgentNamespaceGateway } = {};
    const metrics = new ControllerMetrics(
      poolSnapshotSource(database.db, (s) => metrics.dbDuration.observe({ operation: 'metrics-snapshot' }, s)),
      { wsConnected: () => ws.gateway?.connectedCount() ?? 0 },
    );
    const services = await createServices({ ...config, budget }, database.db, logger, metrics.leaseObserver(), credentials);
    const loginFailures = new FailureCounter({ perMinute: config.rateLimits.authFailuresPerMinute, prefix: 'agent-login' });
    if (!brokerAt) {
      const reset = await markAllOfflineAtStart(database.db.$client, Date.now());
      if (reset.length) logger.info({ gateways: reset.length }, 'embedded broker: gateways shown online before the start are offline until they say hello');
      // Started once the services exist: the broker checks agents' credentials through them.
      const broker = await startEmbeddedBroker({
        host: config.mqtt.embeddedHost,
        port: config.mqtt.embeddedPort,
        authorizer: gatewayAuthorizer(services.gatewayAuth),
        loginFailures,
        logger: logger.child({ component: 'embedded-broker' }),
      });
      stack.push('embedded-broker', () => broker.close());
      // An external broker ends the session itself when the dynsec client is deleted.
      services.events.on('gateway.credential-revoked', ({ gatewayId }) => broker.disconnectClient(agentClientId(gatewayId)));
      brokerAt = { link: broker.link, url: broker.url };
    }
    stack.push('signing-keys', async () => services.keys.close());
    const { link: brokerLink, url: mqttUrl } = brokerAt;
    const bootstrapToken = await services.tokens.bootstrapAdmin(config.adminToken);
    if (bootstrapToken) printBootstrapToken(bootstrapToken);
    stack.push('lease-pusher', () => services.pusher.idle());
    const sweeper = startSweeper({ intervalMs: config.sweepIntervalMs, leaseHistoryDays: config.leaseHistoryDays, usageHistoryDays: config.usageHistoryDays, reclaimSkewMarginSec: config.reclaimSkewMarginSec }, database.db, services, logger.child({ component: 'sweeper' }));
    stack.push('sweeper', () => sweeper.stop());
    const rollup = startHistoryRollup(services.history, config.historySampleMs, logger.child({ component: 'history' }));
    stack.push('history', () => rollup.stop());
    const resizer = startElasticResizer({ intervalMs: config.elasticIntervalMs }, services.elastic, logger.child({ component: 'elastic' }));
    stack.push('elastic-resizer', () => resizer.stop());

    // Agents' messages take their lane of the connection budget; the rest stays free for the other lanes.
    // One dispatcher for every transport: MQTT, Socket.IO and the HTTP agent routes.
    const agentHandler = new AgentHandler(services, {
      maxInFlight: budget.lanes.agentMessages,
      logger: logger.child({ component: 'agent-handler' }),
    });
    const api = buildApiRouter(config, database.db, services, {
      agents: agentHandler,
      sharedRateLimits: config.database.url !== undefined,
      budget,
      agentSetup: () => ({ controllerUrl: config.http.publicUrl ?? null, mqttUrl }),
    });
    const app = createApp({
      logger,
      trustProxy: config.trustProxy,
      before: [httpMetrics(metrics)],
      routers: [
        ...(config.metricsPort === undefined ? [metricsRoutes(metrics)] : []),
        healthRoutes([
          { name: 'database', check: () => database.ping() },
          { name: 'broker', check: () => brokerLink.isConnected() },
        ], databaseAlive),
        api.router,
        await startConsoleAssets(logger.child({ component: 'console' })),
      ],
    });
    const server = http.createServer(app);
    const malformed = new MalformedInput(logger.child({ component: 'agent-input' }), metrics.registry);
    const bridge = new MqttAgentBridge(brokerLink, database.db, agentHandler, logger.child({ component: 'mqtt-agents' }), {
      sharedSubscriptions: config.mqtt.sharedSubscriptions ?? config.mqtt.url !== undefined,
      offlineGraceMs: config.mqtt.url !== undefined ? 2_000 : 0,
      malformed,
    });
    bridge.start();
    services.pusher.addDelivery(bridge);
    if (config.mqtt.url) {
      // External broker: agents stayed connected across our restart; a hello round finds the ghosts.
      const helloRound = new AbortController();
      const round = runHelloRound(
        { sql: database.db.$client, link: brokerLink, setOfflineIf: (id, transport, stillGone) => services.presence.setOfflineIf(id, transport, stillGone), logger: logger.child({ component: 'hello-round' }) },
        config.helloRoundWindowMs,
        helloRound.signal,
      ).catch((err: unknown) => logger.warn({ err }, 'hello round failed; presence follows the agents\' next messages'));
      stack.push('hello-round', async () => {
        helloRound.abort();
        await round;
      });
    }
    // WebSocket only (agents and console use nothing else): no long-polling session to pin to one replica.
    const io = new SocketServer(server, { serveClient: false, transports: ['websocket'] });
    // On an external database other replicas may share it: broadcasts and acks go through it.
    const clustered = config.database.url !== undefined;
    if (clustered) {
      const adapter = attachPostgresAdapter(io, databaseUrl, config.replicas, logger.child({ component: 'socket.io-adapter' }));
      stack.push('socket.io-adapter', async () => {
        for (const name of ['/', AGENT_NAMESPACE, CONSOLE_NAMESPACE]) await io.of(name).adapter.close();
        await adapter.close();
      });
    }
    const socketStore = new AgentSocketStore(database.db, config.replicas.id, budget.lanes.agentSockets);
    const agentsWs = new AgentNamespaceGateway(io, services.gatewayAuth, agentHandler, logger.child({ component: 'ws-agents' }), socketStore);
    ws.gateway = agentsWs;
    agentsWs.loginFailures = loginFailures;
    agentsWs.malformed = malformed;
    services.events.on('gateway.credential-revoked', ({ gatewayId }) => agentsWs.disconnectGateway(gatewayId));
    const membership = new ReplicaMembership(
      database.db,
      { replicaId: config.replicas.id, heartbeatMs: config.replicas.heartbeatMs, timeoutMs: config.replicas.timeoutMs },
      {
        takeOver: (gatewayId) => agentHandler.offlineIf(gatewayId, 'ws', async (tx) => !(await socketHeldAnywhere(tx, gatewayId))),
        reassert: async () => {
          const held = agentsWs.localGatewayIds();
          await socketStore.reassert(held);
          await Promise.all(held.map((id) => agentHandler.presence(id, true, 'ws')));
        },
      },
      logger.child({ component: 'replicas' }),
    );
    await membership.start();
    // Runs after the sockets closed (the stack unwinds in reverse); the row then lapses (see stop()).
    stack.push('replica-membership', async () => {
      await socketStore.idle();
      await membership.stop();
    });
    const consoleWs = new ConsoleNamespace(io, services, logger.child({ component: 'ws-console' }), { clustered });
    services.pusher.addDelivery(agentsWs);
    await listen(server, config.http.port, config.http.host);
    stack.push('http', () => closeHttpServer(server));
    let metricsServer: http.Server | undefined;
    if (config.metricsPort !== undefined) {
      // Its own listener: an Ingress or Service that routes the API port cannot reach /metrics.
      metricsServer = http.createServer(createApp({ logger, routers: [metricsRoutes(metrics)] }));
      await listen(metricsServer, config.metricsPort, config.http.host);
      stack.push('metrics-http', () => closeHttpServer(metricsServer!));
    }
    // Closing sockets first: agents see a clean disconnect and reconnect elsewhere.
    stack.push('socket.io', () => agentsWs.close());
    stack.push('console-live', () => consoleWs.close());
    const url = listeningUrl(server, config.http.host);
    const metricsUrl = metricsServer ? listeningUrl(metricsServer, config.http.host) : url;
    logger.info({ url, metricsUrl, mqtt: mqttUrl, embeddedDatabase: !config.database.url }, 'floatlease controller listening');
    return { url, mqttUrl, metricsUrl, close: () => stack.closeAll() };
  } catch (err) {
    await stack.closeAll();
    throw err;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
}

function listeningUrl(server: http.Server, configuredHost: string): string {
  const { port } = server.address() as AddressInfo;
  const host = configuredHost.includes(':') ? `[${configuredHost}]` : configuredHost;
  return `http://${host}:${port}`;
}

function waitForConnect(client: MqttClient, timeoutMs: number): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`MQTT broker not reachable within ${timeoutMs} ms`)), timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Shown once, on the terminal only: the token is stored hashed and never logged. */
function printBootstrapToken(token: string): void {
  process.stderr.write(
    `\nNo admin token existed, so one was created. It is shown only this once:\n\n    ${token}\n\n` +
      `Use it as "Authorization: Bearer <token>" or in the console; create more with POST /api/v1/tokens.\n\n`,
  );
}

/** Stops accepting, lets in-flight requests finish, then drops idle keep-alive sockets. */
async function closeHttpServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), 3000);
  await closed;
  clearTimeout(timer);
}
