export * from './limits.js';
export * from './lease-claims.js';
