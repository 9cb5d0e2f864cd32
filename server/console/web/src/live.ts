import { io, type Socket } from 'socket.io-client';
import { CONSOLE_NAMESPACE, type ConsoleServerToClient } from '../../../../shared/protocol/console-events.js';
import type { ConsoleChanges } from './api/types.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/** The console's live channel: coalesced change batches from the controller, fanned out to pages. */
export class LiveUpdates {
  private readonly socket: Socket<ConsoleServerToClient>;
  private readonly changeListeners = new Set<(c: ConsoleChanges) => void>();
  private readonly statusListeners = new Set<(s: LiveStatus) => void>();
  private current: LiveStatus = 'connecting';

  constructor(token: string, onUnauthorized: () => void) {
    this.socket = io(CONSOLE_NAMESPACE, {
      auth: { token },
      transports: ['websocket'],
      reconnectionDelayMax: 10_000,
    });
    this.socket.on('connect', () => this.setStatus('live'));
    this.socket.on('disconnect', () => this.setStatus('offline'));
    this.socket.on('connect_error', (err) => {
      this.setStatus('offline');
      if (err.message === 'unauthorized') onUnauthorized();
    });
    this.socket.on('changes', (c) => this.changeListeners.forEach((l) => l(c)));
    // A reconnect may have missed batches: tell every page to refetch.
    this.socket.io.on('reconnect', () => this.changeListeners.forEach((l) => l({ gateways: null, pools: null, presence: { online: 0, offline: 0 } })));
  }

  get status(): LiveStatus {
    return this.current;
  }

  onChanges(listener: (c: ConsoleChanges) => void): () => void {
    this.changeListeners.add(listener);
    return () => void this.changeListeners.delete(listener);
  }

  onStatus(listener: (s: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => void this.statusListeners.delete(listener);
  }

  close(): void {
    this.socket.close();
  }

  private setStatus(s: LiveStatus): void {
    this.current = s;
    this.statusListeners.forEach((l) => l(s));
  }
}
