/**
 * The web page (README "The web page"): `GET /ui` and its assets, read from files in the package (no CDN),
 * under a Content-Security-Policy that allows only this origin's own script, style and requests
 * and no inline code. The page's script is compiled from src/ui by tsconfig.ui.json into dist/ui;
 * the HTML, CSS and icon are served from src/ui as they are.
 * `GET /ui/session` tells the signed-in page who the key belongs to (admin or not, its models).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { errors } from '../../core/errors.ts';

/** src/http/routes (tsx) and dist/http/routes (built) are both three levels below the package root. */
const PACKAGE_ROOT = new URL('../../../', import.meta.url);

/** script-src/style-src 'self' and nothing inline; requests only to this origin; no framing, no plugins. */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  /** Path below the package root. */
  file: string;
  type: string;
}

const HTML: Asset = { file: 'src/ui/index.html', type: 'text/html; charset=utf-8' };
const ASSETS: Record<string, Asset> = {
  'ui.css': { file: 'src/ui/ui.css', type: 'text/css; charset=utf-8' },
  'favicon.svg': { file: 'src/ui/favicon.svg', type: 'image/svg+xml' },
};
/** The compiled modules of the page (src/ui/*.ts → dist/ui/*.js). */
const SCRIPT = /^[a-z][a-z-]{0,40}\.js$/;

const cache = new Map<string, Buffer>();

async function load(file: string): Promise<Buffer | undefined> {
  const cached = cache.get(file);
  if (cached) return cached;
  try {
    const content = await readFile(fileURLToPath(new URL(file, PACKAGE_ROOT)));
    cache.set(file, content);
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function send(reply: FastifyReply, asset: Asset, content: Buffer): FastifyReply {
  return reply
    .header('content-type', asset.type)
    .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('cache-control', 'no-cache')
    .send(content);
}

export function registerUiRoutes(app: FastifyInstance): void {
  if (!existsSync(fileURLToPath(new URL('dist/ui/app.js', PACKAGE_ROOT)))) {
    app.log.warn('the web page at /ui has no script: dist/ui is made by `npm run build`');
  }
  const page = async (_request: unknown, reply: FastifyReply) => {
    const content = await load(HTML.file);
    if (!content) throw errors.routeNotFound('GET', '/ui');
    return send(reply, HTML, content);
  };
  app.get('/ui', { config: { public: true }, schema: { hide: true } }, page);
  app.get('/ui/', { config: { public: true }, schema: { hide: true } }, page);

  app.get<{ Params: { asset: string } }>('/ui/:asset', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const { asset: name } = request.params;
    const asset = ASSETS[name] ?? (SCRIPT.test(name) ? { file: `dist/ui/${name}`, type: 'text/javascript; charset=utf-8' } : undefined);
    const content = asset && (await load(asset.file));
    // dist/ui is made by `npm run build`; a checkout run from source without a build has no script.
    if (!asset || !content) throw errors.routeNotFound('GET', `/ui/${name}`);
    return send(reply, asset, content);
  });

  app.get('/ui/session', { schema: { hide: true } }, async (request) => {
    const { principal } = request;
    return {
      user_id: principal.userId,
      team_id: principal.teamId,
      is_admin: principal.isAdmin,
      /** The master key (or a gateway running without one): no user of its own to show. */
      master_key: principal.isAdmin && principal.keyHash === null,
      /** Empty: every model. */
      models: principal.allowedModels,
    };
  });
}
