import path from 'node:path';
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
// `npm run console:dev` proxies the API and live updates to a running controller.
const controller = process.env.CONSOLE_DEV_CONTROLLER ?? 'http://127.0.0.1:8080';

// eslint-disable-next-line no-restricted-syntax -- Vite reads its configuration from the default export
export default defineConfig({
  root: path.join(here, 'web'),
  base: '/',
  plugins: [preact()],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': controller,
      '/.well-known': controller,
      '/socket.io': { target: controller, ws: true },
    },
  },
});
