/** Builds the shell command that starts an agent which really enrolls: the variable names the agent reads. */
export interface AgentSetup {
  readonly controllerUrl: string | null;
  readonly mqttUrl: string | null;
  /** What a gateway without points may use (the agent's trial allowance). */
  readonly trial?: { readonly tags: number; readonly connections: number };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '[::]', '[::1]', '::', '::1']);

/** A loopback broker address means "this host": from another machine that is the host the console came from. */
function reachableMqttUrl(mqttUrl: string, pageHost: string): string {
  try {
    const u = new URL(mqttUrl);
    if (LOOPBACK.has(u.hostname) && !LOOPBACK.has(pageHost)) u.hostname = pageHost;
    return u.toString().replace(/\/$/, '');
  } catch {
    return mqttUrl;
  }
}

const shellQuote = (v: string): string => (/^[A-Za-z0-9_./:@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

export function agentCommand(setup: AgentSetup | undefined, code: string, page: { origin: string; hostname: string }): string {
  const vars: [string, string][] = [['FLOATLEASE_CONTROLLER_URL', setup?.controllerUrl ?? page.origin]];
  if (setup?.mqttUrl) vars.push(['FLOATLEASE_MQTT_URL', reachableMqttUrl(setup.mqttUrl, page.hostname)]);
  vars.push(['FLOATLEASE_ACTIVATION_CODE', code]);
  return `${vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ')} npm run agent`;
}
