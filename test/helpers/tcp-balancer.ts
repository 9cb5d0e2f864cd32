import net from 'node:net';

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface TcpBalancer {
  readonly port: number;
  readonly url: (scheme: string) => string;
  /**
   * New connections try this backend first (then the others, in order); `undefined` goes back to
   * round-robin. A test places an agent on a known replica this way; failover still applies.
   */
  prefer(index: number | undefined): void;
  /** Connections forwarded, per backend index. */
  readonly forwarded: readonly number[];
  close(): Promise<void>;
}

/**
 * A connection-level (layer 4) load balancer on loopback, as a Kubernetes Service or an Ingress in
 * TCP mode is: each new client connection goes to the next backend in turn; a backend that refuses
 * the connection (a killed replica) is skipped for the next one, so clients that reconnect reach a
 * live replica. Nothing is sticky and nothing looks inside the bytes.
 */
export async function startTcpBalancer(backends: readonly Backend[]): Promise<TcpBalancer> {
  const sockets = new Set<net.Socket>();
  const forwarded = backends.map(() => 0);
  let next = 0;
  let preferred: number | undefined;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  const server = net.createServer((client) => {
    track(client);
    client.pause();
    const first = preferred ?? next;
    if (preferred === undefined) next = (next + 1) % backends.length;
    const order = backends.map((_, k) => (first + k) % backends.length);
    const tryNext = () => {
      const index = order.shift();
      if (index === undefined || client.destroyed) {
        client.destroy();
        return;
      }
      const upstream = net.connect(backends[index]!.port, backends[index]!.host);
      track(upstream);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        forwarded[index]! += 1;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => {
        upstream.destroy();
        // Refused before it connected: fail over. After: the client sees the close below.
        if (!connected) tryNext();
      });
      upstream.on('close', () => {
        if (connected) client.destroy();
      });
      client.on('close', () => upstream.destroy());
    };
    client.on('error', () => client.destroy());
    tryNext();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    prefer: (index) => void (preferred = index),
    forwarded,
    async close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
