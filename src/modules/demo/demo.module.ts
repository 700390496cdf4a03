import { Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import express from 'express';
import type { Express, Response } from 'express';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DemoConfig, demoConfig } from './demo.config';

/** `public/` at the project root, from the sources (src/modules/demo) and the build (dist/modules/demo) alike. */
export const PUBLIC_DIR = path.resolve(__dirname, '..', '..', '..', 'public');

/**
 * The page may only load what this service serves: scripts, styles and connections to itself, and images
 * from itself or from the photo the user picked (blob:). Inline scripts and styles are refused.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function setHeaders(res: Response, file: string): void {
  // Revalidate on every load (ETag/Last-Modified make that cheap): a new deploy shows at once.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (file.endsWith('.html')) res.setHeader('Content-Security-Policy', DEMO_CSP);
}

export interface DemoStatic {
  root: string;
  options: Parameters<typeof express.static>[1];
}

/** What to serve, or null when the page is disabled or missing. */
export function demoStatic(config: DemoConfig, root = PUBLIC_DIR): DemoStatic | null {
  if (!config.DEMO_ENABLED) return null;
  if (!existsSync(path.join(root, 'index.html'))) {
    new Logger('DemoModule').warn(`demo page not served: ${path.join(root, 'index.html')} is missing`);
    return null;
  }
  return {
    root,
    options: {
      index: 'index.html',
      // Files missing from public/ fall through to Nest, which answers its JSON 404 as for any unknown route.
      fallthrough: true,
      redirect: false,
      dotfiles: 'ignore',
      etag: true,
      lastModified: true,
      setHeaders,
    },
  };
}

/**
 * The demo page (chat, digits, mosaic) at `/`: the static files of `public/`, no build step. They are
 * mounted when the module initialises, i.e. after every controller's routes, so API routes always win,
 * and there is no catch-all: /docs, /health, /socket.io and the JSON 404 of unknown routes are untouched.
 * (`@nestjs/serve-static` picks its loader while the module is compiled, before a testing module has an
 * HTTP adapter, and then serves nothing in the e2e tests; mounting `express.static` here works in both.)
 */
@Module({ imports: [ConfigModule.forFeature(demoConfig)] })
export class DemoModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(demoConfig.KEY) private readonly config: DemoConfig,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    const site = demoStatic(this.config);
    // No HTTP server (a standalone application context): nothing to serve.
    if (!adapter || !site) return;
    adapter.getInstance<Express>().use(express.static(site.root, site.options));
  }
}
