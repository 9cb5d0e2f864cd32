/** Socket.IO namespace for administrators' consoles (live updates, server → browser only). */
export const CONSOLE_NAMESPACE = '/console';

/**
 * One coalesced batch of committed changes. Ids are listed while few; `null` means "many changed,
 * refetch whatever you show" so a burst of 10,000 changes costs the browser one refetch, not 10,000.
 */
export interface ConsoleChanges {
  readonly gateways: readonly string[] | null;
  readonly pools: readonly string[] | null;
  /** Presence flips in this batch. */
  readonly presence: { readonly online: number; readonly offline: number };
}

export interface ConsoleServerToClient {
  changes: (batch: ConsoleChanges) => void;
}

