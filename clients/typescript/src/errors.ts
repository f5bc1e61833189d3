import type { components } from './generated/api';

export type Problem = components['schemas']['ProblemDetailsDto'];
export type ProblemCode = Problem['code'];

/**
 * An error answer of the service: its HTTP status and, from its problem+json body, the
 * stable `code`. `code` is null when the answer did not come from the service itself (a
 * proxy's 502, say), and `status` too when a stream failed after it began.
 */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';

  constructor(
    readonly status: number | null,
    readonly code: ProblemCode | null,
    readonly detail: string | null,
    readonly requestId: string | null,
    /** The whole problem body, when the answer had one. */
    readonly problem: Problem | null = null,
  ) {
    super(`${[status, code].filter((part) => part !== null).join(' ')}: ${detail ?? 'no detail'}`);
  }

  /** The error an answer carries, whether or not its body is a problem. */
  static fromAnswer(response: Response, body: unknown): SandboxError {
    const headerId = response.headers.get('x-request-id');
    if (!isProblem(body)) {
      const excerpt = typeof body === 'string' ? body.slice(0, 500).trim() : '';
      return new SandboxError(response.status, null, excerpt || response.statusText, headerId);
    }
    return new SandboxError(body.status, body.code, body.detail, body.request_id ?? headerId, body);
  }
}

function isProblem(body: unknown): body is Problem {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as Partial<Problem>).code === 'string' &&
    typeof (body as Partial<Problem>).status === 'number'
  );
}
