import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, FieldProblem } from '../errors/domain-error';

/** Flattens nested class-validator errors into `field.path: messages`. */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own: FieldProblem[] = error.constraints
      ? [{ field, messages: Object.values(error.constraints) }]
      : [];
    return own.concat(fieldProblems(error.children ?? [], field));
  });
}

/** Strict input: unknown fields are errors, types are checked, nothing is coerced silently. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => {
      const problems = fieldProblems(errors);
      return new DomainError(
        'VALIDATION_FAILED',
        problems.map((p) => p.messages.join('; ')).join('; ') || 'The request is invalid.',
        { fieldProblems: problems },
      );
    },
  });
}
