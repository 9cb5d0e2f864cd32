export * from './limits.js';
export * from './lease-claims.js';
export * from './agent-messages.js';
export * from './mqtt-topics.js';
export * from './socket-events.js';
export * from './uuid.js';
export * from './key-set.js';
