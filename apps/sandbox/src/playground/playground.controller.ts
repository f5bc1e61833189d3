import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/access.decorators';
import { DomainError } from '../errors/domain-error';
import { PLAYGROUND_ASSETS, type PlaygroundAssets, type PlaygroundFile } from './playground-assets';

/**
 * The page's own rules: its script and styles from this origin only, images from this
 * origin or the blob: URLs it makes of figures, requests to this API only, never framed.
 * CodeMirror writes its theme into style elements at run time, hence 'unsafe-inline' for
 * styles (never for scripts). Every text the code printed is set as text, never as HTML.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** GET /playground: a page to run code by hand, served from the bundle built with the service. */
@ApiExcludeController()
@Public()
@Controller('playground')
export class PlaygroundController {
  constructor(@Inject(PLAYGROUND_ASSETS) private readonly assets: PlaygroundAssets) {}

  @Get()
  page(@Req() request: Request, @Res() response: Response): void {
    // The page names its files relative to itself: from /playground/ they would be missed.
    // The redirect is relative too, so it holds under a proxy's path prefix.
    if (request.path.endsWith('/')) {
      response.redirect(301, '../playground');
      return;
    }
    this.send('index.html', request, response);
  }

  @Get(':asset')
  asset(@Param('asset') name: string, @Req() request: Request, @Res() response: Response): void {
    if (name === 'index.html' || !this.assets?.has(name as PlaygroundFile)) {
      throw new DomainError('ROUTE_NOT_FOUND', `The playground has no file named ${name}`);
    }
    this.send(name as PlaygroundFile, request, response);
  }

  private send(name: PlaygroundFile, request: Request, response: Response): void {
    const asset = this.assets?.get(name);
    if (!asset) {
      throw new DomainError(
        'PLAYGROUND_NOT_BUILT',
        'The playground page was not built with this service: run `npm run build`',
      );
    }
    // The gzip form when the browser takes it: the script is a third of its size so.
    const gzip = request.acceptsEncodings('gzip', 'identity') === 'gzip';
    const { body, etag } = gzip ? asset.gzip : asset;
    response.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    response.setHeader('Vary', 'Accept-Encoding');
    // Revalidated on each load (a new release changes the bytes), answered 304 when unchanged.
    response.setHeader('Cache-Control', 'no-cache');
    response.setHeader('ETag', etag);
    if (request.headers['if-none-match'] === etag) {
      response.status(304).end();
      return;
    }
    response.setHeader('Content-Type', asset.contentType);
    if (gzip) response.setHeader('Content-Encoding', 'gzip');
    response.status(200).end(body);
  }
}
