import { Controller, Delete, Get, HttpStatus, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentCaller, RequireScope } from '../auth/access.decorators';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { requestIdOf } from '../http/request-id';
import { TenantRateLimit } from '../quota/tenant-rate-limit.guard';
import { McpService } from './mcp.service';

/**
 * The MCP endpoint (streamable HTTP, stateless): JSON-RPC over POST. Behind the same
 * guards as the REST API, so the caller, its tenant and its rate limit are theirs. Kept
 * out of the OpenAPI document: its operations are MCP tools, which MCP lists itself.
 */
@ApiExcludeController()
@Controller('mcp')
@RequireScope('execute')
export class McpController {
  constructor(
    private readonly mcp: McpService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @TenantRateLimit()
  async post(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentCaller() caller: Caller,
  ): Promise<void> {
    await this.mcp.handle(request, response, {
      caller,
      requestId: requestIdOf(request),
      baseUrl: this.config.publicUrl ?? requestBaseUrl(request),
    });
  }

  // Stateless: no session to open a server-sent stream on (GET) or to end (DELETE).
  @Get()
  get(@Res() response: Response): void {
    refuseMethod(response);
  }

  @Delete()
  delete(@Res() response: Response): void {
    refuseMethod(response);
  }
}

/** scheme://host as the request reached this process; '' without a Host header. */
function requestBaseUrl(request: Request): string {
  const host = request.get('host');
  return host === undefined ? '' : `${request.protocol}://${host}`;
}

/** 405 as a JSON-RPC error, which MCP clients expect from a stateless server. */
function refuseMethod(response: Response): void {
  response
    .status(HttpStatus.METHOD_NOT_ALLOWED)
    .setHeader('Allow', 'POST')
    .json({
      jsonrpc: '2.0',
      error: {
        code: -32000,
        message: 'Method not allowed: this MCP server is stateless; use POST.',
      },
      id: null,
    });
}
