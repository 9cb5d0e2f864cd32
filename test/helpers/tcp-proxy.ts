import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: (scheme: string) => string;
  /** A cable cut: bytes vanish both ways and new connections hang; nobody sees a close. */
  blackhole(): void;
  /** The cable is back: the dead connections are dropped so both ends reconnect. */
  heal(): void;
  close(): Promise<void>;
}

/** A loopback TCP forwarder the test can cut without either end noticing at once (no FIN, no RST). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (cut) return; // held open, never forwarded
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!cut) client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => {
      if (!cut) upstream.destroy();
    });
    client.on('data', (b) => void (cut || upstream.write(b)));
    upstream.on('data', (b) => void (cut || client.write(b)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    port,
    url: (scheme) => `${scheme}://127.0.0.1:${port}`,
    blackhole: () => void (cut = true),
    heal() {
      cut = false;
      dropAll();
    },
    async close() {
      cut = true;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
