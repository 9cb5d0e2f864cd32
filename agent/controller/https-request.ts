import https from 'node:https';

export interface HttpAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly text: string;
}

/** Bigger answers are cut off: nothing the agent asks the controller for comes near this. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One HTTPS request trusting the given CAs. Node 20's fetch takes no CA without undici's
 * dispatcher (not a dependency), so the agent uses this when FLOATLEASE_CA_FILE is set.
 */
export function httpsRequest(url: string, o: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; ca: readonly string[] }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: o.method, headers: o.headers, ca: [...o.ca], signal: AbortSignal.timeout(o.timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) return req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, statusText: res.statusMessage ?? '', text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
