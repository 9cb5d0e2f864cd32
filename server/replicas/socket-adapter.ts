import { createAdapter } from '@socket.io/postgres-adapter';
import pg from 'pg';
import type { Server } from 'socket.io';
import type { Logger } from '../logger.js';

/**
 * Socket.IO across replicas: @socket.io/postgres-adapter relays broadcasts, acknowledgements and
 * fetchSockets through LISTEN/NOTIFY on the PostgreSQL every replica already uses (no new service).
 * It needs a `pg` Pool (it does not speak postgres.js): one connection LISTENs, another NOTIFYs.
 * Its node heartbeat follows the replica heartbeat, so a dead replica stops being waited for as
 * soon as the membership takes its agents over.
 */
export function attachPostgresAdapter(
  io: Server,
  url: string,
  opts: { heartbeatMs: number; timeoutMs: number },
  logger: Logger,
): { close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'floatlease-socketio' });
  pool.on('error', (err) => logger.warn({ err }, 'socket.io adapter: idle database connection failed'));
  io.adapter(
    createAdapter(pool, {
      heartbeatInterval: opts.heartbeatMs,
      heartbeatTimeout: opts.timeoutMs,
      errorHandler: (err) => logger.warn({ err }, 'socket.io adapter error'),
    }),
  );
  return {
    async close() {
      await pool.end();
    },
  };
}
