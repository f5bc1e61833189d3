import { Injectable } from '@nestjs/common';
import { appendRawJsonMember } from '@brain-net/runner';
import axios, { AxiosInstance, AxiosResponse } from 'axios';
import {
  AdjustmentDelivery,
  BackendClient,
  BackendRefusedError,
  BackendUnavailableError,
  DeliveryAnswer,
  OnBehalfOf,
  ProcessorDefinition,
  UnsafeProcessorIdError,
} from './backend-client';
import { BackendClientOptions } from './backend-client-options';

/** How much of a backend's explanation is kept in a message. */
const MAX_EXPLANATION_CHARS = 500;

/** Who a call is made for: the tenant, and the key name or token subject. */
export const TENANT_HEADER = 'X-Sandbox-Tenant';
export const CALLER_HEADER = 'X-Sandbox-Caller';

/** Talks to the main backend over HTTP with axios. HTTP only: callers decide what answers mean. */
@Injectable()
export class AxiosBackendClient extends BackendClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: BackendClientOptions) {
    super();
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs,
      // Every status is an answer to inspect, not an exception.
      validateStatus: () => true,
      headers: options.serviceToken ? { Authorization: `Bearer ${options.serviceToken}` } : {},
    });
  }

  async fetchProcessor(
    processorId: string,
    onBehalfOf: OnBehalfOf,
  ): Promise<ProcessorDefinition | null> {
    const path = fillPath(this.options.processorPath, processorId);
    const { bearerToken } = onBehalfOf;
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.get<unknown>(path, {
        headers: {
          ...callerHeaders(onBehalfOf.tenant, onBehalfOf.subject),
          ...(bearerToken ? { Authorization: `Bearer ${bearerToken}` } : {}),
        },
      });
    } catch (error: unknown) {
      throw new BackendUnavailableError(`GET ${path} failed: ${this.describeFailure(error)}`, {
        cause: error,
      });
    }
    if (response.status === 404) return null;
    if (response.status === 401 || response.status === 403) {
      throw new BackendRefusedError(response.status, `GET ${path} answered ${response.status}`);
    }
    if (response.status !== 200) {
      const explanation = explanationOf(response.data);
      throw new BackendUnavailableError(
        `GET ${path} answered ${response.status}` + (explanation ? `: ${explanation}` : ''),
      );
    }
    const definition = response.data;
    if (!isObject(definition) || typeof definition.code !== 'string') {
      throw new BackendUnavailableError(`GET ${path} answered 200 without a string "code"`);
    }
    // The id asked for: the body need not repeat it.
    return { ...definition, processor_id: processorId, code: definition.code };
  }

  async deliverAdjustment(delivery: AdjustmentDelivery): Promise<DeliveryAnswer> {
    let path: string;
    try {
      path = fillPath(this.options.adjustmentPath, delivery.processorId);
    } catch (error: unknown) {
      if (!(error instanceof UnsafeProcessorIdError)) throw error;
      return { kind: 'rejected', status: 400, message: `not sent: ${error.message}` };
    }
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.post<unknown>(
        path,
        // `adjustments` goes in as the text the caller sent: an object would lose keys
        // such as `__proto__` and `constructor` in axios's own copy of the body.
        appendRawJsonMember(
          JSON.stringify({
            adjustment_id: delivery.adjustmentId,
            processor_id: delivery.processorId,
            reason: delivery.reason,
            execution_id: delivery.executionId,
            created_at: delivery.createdAt.toISOString(),
            tenant: delivery.tenant,
            created_by: delivery.createdBy,
          }),
          'adjustments',
          delivery.adjustmentsJson,
        ),
        {
          headers: {
            'Content-Type': 'application/json',
            'Idempotency-Key': delivery.adjustmentId,
            ...callerHeaders(delivery.tenant, delivery.createdBy),
          },
        },
      );
    } catch (error: unknown) {
      return { kind: 'retryable', message: `POST ${path} failed: ${this.describeFailure(error)}` };
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    const explanation = explanationOf(response.data);
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return { kind: 'rejected', status, message: explanation ?? `HTTP ${status}` };
    }
    return {
      kind: 'retryable',
      message: `POST ${path} answered ${status}` + (explanation ? `: ${explanation}` : ''),
    };
  }

  private describeFailure(error: unknown): string {
    if (!axios.isAxiosError(error)) return error instanceof Error ? error.message : String(error);
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') {
      return `no answer within ${this.options.timeoutMs} ms`;
    }
    // Node reports some connection failures with an empty message and only a code.
    return error.message || error.code || 'network error';
  }
}

/**
 * The template with the id filled in, exactly as it will be sent. encodeURIComponent
 * leaves `.` as it is, and URL parsing (axios's too) folds `.` and `..` segments
 * (`/api/processors/..` is `/api/`): a path the parser would not keep as it is, or an
 * empty id, is refused.
 */
function fillPath(template: string, processorId: string): string {
  const path = template.replaceAll('{processor_id}', encodeURIComponent(processorId));
  const parsed = new URL(path, 'http://backend.invalid');
  if (processorId === '' || parsed.pathname + parsed.search + parsed.hash !== path) {
    throw new UnsafeProcessorIdError(processorId);
  }
  return path;
}

/**
 * Tenant and caller, percent-encoded as UTF-8 so that any name fits in a header
 * (`tenant-a` stays `tenant-a`; `ü` is `%C3%BC`).
 */
function callerHeaders(tenant: string, subject: string): Record<string, string> {
  return {
    [TENANT_HEADER]: encodeURIComponent(tenant),
    [CALLER_HEADER]: encodeURIComponent(subject),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The backend's own words about an answer: `message`, `detail` (FastAPI), or the body itself. */
function explanationOf(body: unknown): string | null {
  let text: string;
  if (typeof body === 'string') text = body;
  else if (isObject(body) && typeof body.message === 'string') text = body.message;
  else if (isObject(body) && typeof body.detail === 'string') text = body.detail;
  else if (body === undefined || body === null) text = '';
  else text = JSON.stringify(body);
  text = text.trim();
  return text ? text.slice(0, MAX_EXPLANATION_CHARS) : null;
}
