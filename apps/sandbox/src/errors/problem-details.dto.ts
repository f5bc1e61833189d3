import { ApiProperty, ApiResponse } from '@nestjs/swagger';
import { ERROR_STATUS, ErrorCode } from './domain-error';

export class FieldProblemDto {
  /** @example "timeout" */
  field!: string;
  /** @example ["timeout must not be less than 1"] */
  messages!: string[];
}

/** The body of every error answer: RFC 9457 problem details, plus a stable code. */
export class ProblemDetailsDto {
  /** @example "urn:brain-net:sandbox:validation-failed" */
  type!: string;
  /** @example "Bad Request" */
  title!: string;
  /** @example 400 */
  @ApiProperty({ type: 'integer' })
  status!: number;
  /** What is wrong, for a person. @example "timeout must not be less than 1" */
  detail!: string;
  @ApiProperty({ enum: Object.keys(ERROR_STATUS), example: 'VALIDATION_FAILED' })
  code!: ErrorCode;
  /** The request's X-Request-Id, also in the logs. @example "3f0c2a4e-8d7e-4a43-9a57-0c8d5a1f2b6e" */
  request_id!: string;
  /** One entry per invalid field, for validation errors. */
  errors?: FieldProblemDto[];
}

/** Documents an error answer of an operation with the problem-details schema. */
export function ApiProblem(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, type: ProblemDetailsDto });
}
