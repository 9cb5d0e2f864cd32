/** Sent in hello and enrollment so the controller can tell agent generations apart. */
export const AGENT_VERSION = '0.1.0';
