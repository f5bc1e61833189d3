import { buffer } from 'node:stream/consumers';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ExecutionRecord } from '@brain-net/store';
import { hasScope } from '../auth/access';
import { Caller } from '../auth/caller';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { errorMessage, stackOf } from '../errors/error-message';
import { ExecuteRequestDto } from '../execution/dto/execute-request.dto';
import { toExecutionResult } from '../execution/dto/execution-result.dto';
import { ExecutionService } from '../execution/execution.service';
import { FIGURE_MEDIA_TYPE, OutputFileKeeper } from '../files/output-files';
import { createValidationPipe } from '../http/validation';
import { toRuntime } from '../runtimes/dto/runtime.dto';
import { RuntimeCatalog } from '../runtimes/runtime-catalog';
import { SERVICE_NAME, SERVICE_VERSION } from '../service-info';
import { executionSummary, isFailedRun, outputFileLinks, problemText } from './execution-summary';
import { RunPythonInput, executeBodyOf, runPythonInputSchema } from './run-python-input';
import { runtimeSummary } from './runtime-summary';
import { ToolDescriptions, toolDescriptions } from './tool-descriptions';

/** One POST /mcp: who calls, and what its answers refer to. */
export interface McpCall {
  readonly caller: Caller;
  readonly requestId: string;
  /** Where the caller reaches the service (PUBLIC_URL, else the request's scheme://host): download links start with it. */
  readonly baseUrl: string;
}

type Content = CallToolResult['content'][number];

const text = (value: string): Content => ({ type: 'text', text: value });

/**
 * The MCP tools (run_python, get_execution, list_runtimes) over the services the REST
 * API uses, for the caller the auth guard resolved: same tenant, same limits, same
 * problems (as tool errors carrying the problem's code).
 */
@Injectable()
export class McpService {
  private readonly logger = new Logger(McpService.name);
  private readonly descriptions: ToolDescriptions;
  /** POST /execute's own validation, so a run_python argument is held to the same rules. */
  private readonly validation = createValidationPipe();

  constructor(
    private readonly config: AppConfig,
    private readonly executions: ExecutionService,
    private readonly catalog: RuntimeCatalog,
    private readonly outputFiles: OutputFileKeeper,
  ) {
    this.descriptions = toolDescriptions(config);
  }

  /**
   * Answers one POST /mcp. Stateless: a server and a transport for this request alone,
   * no session id, nothing kept once the answer is sent. The body arrives as the door parsed
   * it (configureApp: authenticated first, within the body limit, the slots and the depth).
   */
  async handle(request: Request, response: Response, call: McpCall): Promise<void> {
    const message = jsonRpcBodyOf(request.body);
    if (message === undefined) {
      response.status(HttpStatus.BAD_REQUEST).json({
        jsonrpc: '2.0',
        error: {
          code: JSON_RPC_PARSE_ERROR,
          message: 'Parse error: the body is not JSON (Content-Type: application/json).',
        },
        id: null,
      });
      return;
    }
    const server = this.serverFor(call);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on('close', () => {
      server.close().catch((error: unknown) => {
        this.logger.warn(
          `closing the MCP server of request ${call.requestId} failed: ${errorMessage(error)}`,
        );
      });
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, message);
  }

  /** The tools this caller may use: reading ones only with the `read` scope. */
  private serverFor(call: McpCall): McpServer {
    const d = this.descriptions;
    const server = new McpServer(
      { name: SERVICE_NAME, version: SERVICE_VERSION },
      { instructions: d.instructions },
    );
    server.registerTool(
      'run_python',
      {
        title: 'Run Python',
        description: d.runPython,
        inputSchema: runPythonInputSchema(d.runPythonFields),
        annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
      },
      (input) => this.answer(call, () => this.runPython(input, call)),
    );
    if (!hasScope(call.caller, 'read')) return server;
    server.registerTool(
      'get_execution',
      {
        title: 'Get an execution',
        description: d.getExecution,
        inputSchema: z.strictObject({
          execution_id: z.string().describe('The id a run_python result names.'),
        }),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      ({ execution_id: id }) =>
        this.answer(call, async () =>
          this.resultOf(await this.executions.get(id, call.caller), call),
        ),
    );
    server.registerTool(
      'list_runtimes',
      {
        title: 'List runtimes',
        description: d.listRuntimes,
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      () =>
        this.answer(call, async () => {
          const entries = await this.catalog.entries();
          return { content: [text(runtimeSummary(entries.map(toRuntime)))] };
        }),
    );
    return server;
  }

  /** Runs the code as POST /execute?wait=true does, and answers with its result. */
  private async runPython(input: RunPythonInput, call: McpCall): Promise<CallToolResult> {
    const body = await executeBodyOf(input, this.config.maxInputDepth);
    const request = (await this.validation.transform(body, {
      type: 'body',
      metatype: ExecuteRequestDto,
    })) as ExecuteRequestDto;
    const { record } = await this.executions.submit(request, call.requestId, call.caller);
    return this.resultOf(await this.executions.result(record.id, call.caller), call);
  }

  /** The summary, then each figure's PNG in order, then the output files' links. */
  private async resultOf(record: ExecutionRecord, call: McpCall): Promise<CallToolResult> {
    const result = toExecutionResult(record);
    const content = [text(executionSummary(result))];
    for (const figure of result.figures) {
      if (figure.url !== null) content.push(await this.figureImage(record, figure.index));
    }
    const links = outputFileLinks(result, call.baseUrl);
    if (links !== null) content.push(text(links));
    return { content, isError: isFailedRun(result.status) };
  }

  private async figureImage(record: ExecutionRecord, index: number): Promise<Content> {
    try {
      const [, png] = await this.outputFiles.openFigure(record, String(index));
      return {
        type: 'image',
        data: (await buffer(png)).toString('base64'),
        mimeType: FIGURE_MEDIA_TYPE,
      };
    } catch (error: unknown) {
      // Pruned since the run: the other figures and the summary still stand.
      if (error instanceof DomainError && error.code === 'FILE_NOT_FOUND') {
        return text(`Figure ${index}: ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * A tool's answer, or its refusal as a tool error: a domain error's code and message (as
   * the REST API's problem says them), anything else logged and hidden, as the REST API does.
   */
  private async answer(
    call: McpCall,
    work: () => Promise<CallToolResult>,
  ): Promise<CallToolResult> {
    try {
      return await work();
    } catch (error: unknown) {
      if (error instanceof DomainError) {
        return { content: [text(problemText(error))], isError: true };
      }
      this.logger.error(`an MCP tool failed on request ${call.requestId}`, stackOf(error));
      return {
        content: [text(`INTERNAL: An internal error occurred (request id ${call.requestId}).`)],
        isError: true,
      };
    }
  }
}

/** JSON-RPC's code for a body that is not JSON. */
const JSON_RPC_PARSE_ERROR = -32700;

/** The JSON-RPC message(s) the door parsed; undefined when no JSON body came. */
function jsonRpcBodyOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? body : undefined;
}
