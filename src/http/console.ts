// The web console (web/, built to web/dist by `npm ci`) served at `/`. Static files are public; every piece of
// data the console shows comes through the API with the caller's session. Paths that are not files get the
// console's index.html (it routes in the browser), except API paths, which keep their JSON 404s.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Paths that belong to the API: never answered with the console's page. */
const API_PREFIXES = ['/v1', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'];

// The console loads only its own files and talks only to this server; inline styles are for the charts.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export function isApiPath(urlPath: string): boolean {
  return API_PREFIXES.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`));
}

export async function registerConsole(app: FastifyInstance, options: { dir: string }): Promise<void> {
  const root = path.resolve(options.dir);
  await app.register(fastifyStatic, { root, serve: false });

  const securityHeaders = (reply: FastifyReply) =>
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');

  const sendIndex = async (reply: FastifyReply) => {
    if (!(await isFile(path.join(root, 'index.html')))) {
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The web console is not built. Run `npm run build:web` (npm ci and npm start build it too).');
    }
    securityHeaders(reply).header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  };

  // Unknown GETs under /v1 keep the API's behaviour: a token is needed, then a JSON 404.
  app.get('/v1/*', { schema: { hide: true } }, async (_request, reply) => reply.callNotFound());

  app.get('/*', { schema: { hide: true }, config: { access: 'public' } }, async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (isApiPath(urlPath)) return reply.callNotFound();
    const file = await consoleFile(root, urlPath);
    if (file) {
      securityHeaders(reply);
      // Vite puts a content hash in every asset name: those never change.
      if (file.startsWith('assets/')) return reply.sendFile(file, { immutable: true, maxAge: '365d' });
      return reply.sendFile(file);
    }
    // A missing asset is a 404; anything else is a page of the console.
    if (urlPath.startsWith('/assets/') || path.extname(urlPath) !== '') return reply.callNotFound();
    return sendIndex(reply);
  });
}

/** The file under root that a URL path names, or undefined (never anything outside root). */
async function consoleFile(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const relative = path.normalize(decoded).replace(/^[/\\]+/, '');
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  if (relative.split(path.sep).some((part) => part.startsWith('.'))) return undefined;
  return (await isFile(path.join(root, relative))) ? relative.split(path.sep).join('/') : undefined;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
