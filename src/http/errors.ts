// Every failure leaves the server as { error: { code, message, details } }. This is the only place that
// decides HTTP statuses.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { AppError, httpStatusFor, isAppError, type ErrorCode } from '../errors.ts';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function toErrorBody(error: AppError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details !== undefined ? { details: error.details } : {}),
    },
  };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((rawError, request, reply) => {
    const error = normalizeError(rawError);
    if (error.code === 'internal') {
      request.log.error({ err: rawError }, 'request failed');
    } else {
      request.log.info({ code: error.code, message: error.message }, 'request refused');
    }
    void reply.status(httpStatusFor(error.code)).type('application/json').send(toErrorBody(error));
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(
        toErrorBody(
          new AppError(
            'not_found',
            `No route ${request.method} ${request.url.split('?')[0]}; see /openapi.json`,
          ),
        ),
      );
  });
}

function normalizeError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    const fields = error.validation.map((issue) => ({
      field: [where, ...pathOf(issue.instancePath)].join('.'),
      message: issue.message,
    }));
    return new AppError(
      'validation_failed',
      `Invalid request: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      { fields },
    );
  }
  if (error instanceof ZodError) {
    const fields = error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
    return new AppError(
      'validation_failed',
      `Invalid input: ${fields.map((f) => `${f.field || '(root)'}: ${f.message}`).join('; ')}`,
      { fields },
    );
  }
  if (isResponseSerializationError(error)) {
    return new AppError('internal', 'The server produced a response it could not serialise');
  }
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'The request body is larger than this route accepts', {
        hint: 'Split the batch or raise FUNNELGATE_BODY_LIMIT_BYTES / FUNNELGATE_BATCH_BODY_LIMIT_BYTES',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', `Unsupported Content-Type; ${fastifyError.message}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('bad_request', 'The body is empty but Content-Type says JSON; send a JSON body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case undefined:
      if (fastifyError instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return new AppError('bad_request', `The body is not valid JSON: ${fastifyError.message}`);
      }
      break;
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    return new AppError(
      status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request',
      fastifyError.message,
    );
  }
  return new AppError('internal', 'Internal error; the server log has the details');
}

function pathOf(instancePath: string): string[] {
  return instancePath.split('/').filter(Boolean);
}
