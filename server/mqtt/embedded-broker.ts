import net from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { limitedLogin, type FailureCounter } from '../http/rate-limits.js';
import type { Logger } from '../logger.js';
import { inProcessLink, type BrokerLink } from './broker-link.js';
import { indexRetainedMessages, type RetainedPersistence } from './retained-index.js';

/** Who a connected MQTT client is, decided once at CONNECT. */
type BrokerPrincipal = { readonly kind: 'controller' } | { readonly kind: 'gateway'; readonly gatewayId: string };

/** The broker's security decisions, supplied by the composition root (gateway credentials live in the DB). */
export interface BrokerAuthorizer {
  authenticate(username: string | undefined, password: string | undefined): Promise<BrokerPrincipal | null>;
  /** Whether this principal may use this client id (a gateway: only its own, see agentClientId). */
  clientIdAllowed?(principal: BrokerPrincipal, clientId: string): boolean;
  canPublish(principal: BrokerPrincipal, topic: string): boolean;
  canSubscribe(principal: BrokerPrincipal, topic: string): boolean;
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  /** The controller's own link to this broker, in process. */
  readonly link: BrokerLink;
  connectedClients(): number;
  /** Ends a client's session at once (decommissioned gateway); its will is not published. */
  disconnectClient(clientId: string): void;
  close(): Promise<void>;
}

export const LISTEN_BACKLOG = 4096;

const principals = new WeakMap<Client, BrokerPrincipal>();
/**
 * Sessions replaced by a newer connection of the same gateway (same client id). Their last will
 * is not published: the gateway is still online on the new connection, so announcing it offline
 * would flap its presence and let the controller reclaim its lease.
 */
const superseded = new WeakSet<Client>();

function authError(code: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

export async function startEmbeddedBroker(opts: {
  host: string;
  port: number;
  authorizer: BrokerAuthorizer;
  logger: Logger;
  /** Failed CONNECTs per source address. */
  loginFailures?: FailureCounter;
}): Promise<EmbeddedBroker> {
  const { authorizer, logger } = opts;
  const broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const address = (client.conn as Partial<net.Socket>).remoteAddress ?? 'unknown';
      limitedLogin(opts.loginFailures, address, () => authorizer.authenticate(username, password?.toString('utf8')))
        .then((principal) => {
          if (!principal) return done(authError(4, 'Bad username or password'), false);
          if (authorizer.clientIdAllowed && !authorizer.clientIdAllowed(principal, client.id)) {
            logger.warn({ clientId: client.id, username }, 'mqtt client id refused: not the authenticated gateway\'s own');
            return done(authError(2, 'Identifier rejected'), false);
          }
          const previous = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[client.id];
          if (previous && previous !== client) superseded.add(previous);
          principals.set(client, principal);
          done(null, true);
        })
        .catch((err: unknown) => {
          logger.warn({ err }, 'mqtt authentication failed with an error');
          done(authError(5, 'Not authorized'), false);
        });
    },
    authorizePublish: (client, packet, callback) => {
      const principal = client ? principals.get(client) : undefined;
      if (!client) return callback(null); // broker-internal publishes (e.g. will messages already vetted)
      if (superseded.has(client)) return callback(new Error('session replaced by a newer connection'));
      if (!principal || !authorizer.canPublish(principal, packet.topic)) {
        return callback(new Error(`publish to ${packet.topic} not allowed`));
      }
      callback(null);
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const principal = principals.get(client);
      if (!principal || !authorizer.canSubscribe(principal, subscription.topic)) {
        // A null subscription yields a SUBACK failure (0x80) instead of dropping the client.
        return callback(null, null);
      }
      callback(null, subscription);
    },
  });
  // aedes' in-memory store scans every retained message on each SUBSCRIBE (O(N²) in a connect storm).
  indexRetainedMessages((broker as unknown as { persistence: RetainedPersistence }).persistence);
  broker.on('clientError', (client, err) => logger.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A reconnect storm opens thousands of connections at once; Node's default backlog (511)
    // overflows, SYNs are dropped and clients wait for retransmits. The kernel caps this at somaxconn.
    server.listen({ port: opts.port, host: opts.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  logger.info({ host: opts.host, port }, 'embedded MQTT broker listening');
  return {
    url: `mqtt://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    port,
    link: inProcessLink(broker),
    connectedClients: () => broker.connectedClients,
    disconnectClient(clientId) {
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
      if (!client) return;
      superseded.add(client);
      client.close();
    },
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open client sockets would keep close() waiting; the broker already ended their sessions.
        server.unref();
        setTimeout(resolve, 500).unref();
      });
    },
  };
}
