// The console's build: `npm run build:web` (run by `npm ci` through `prepare`, and by `npm start` when
// web/dist is missing) writes web/dist, which the API server serves at `/`. `npm run dev:web` serves it with hot
// reload and sends API calls to a server on FUNNELGATE_API (default http://localhost:8080).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, loadEnv } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, root, 'FUNNELGATE_');
  const api = env['FUNNELGATE_API'] ?? 'http://localhost:8080';
  return {
    root,
    base: '/',
    plugins: [react()],
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1500 },
    server: {
      // The console shares the action catalogue and the role table with the server (src/).
      fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
      proxy: Object.fromEntries(
        ['/v1', '/docs', '/openapi.json', '/healthz', '/readyz'].map((p) => [p, { target: api }]),
      ),
    },
  };
});
