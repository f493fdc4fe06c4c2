import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { GatehouseError, ServiceUnavailable, ValidationError } from '../errors.ts';
import { isDatabaseUnavailable, isRejectedValue } from '../store/db.ts';

/** Fastify's own request errors that are the client's fault, with what to tell them. */
const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: 'JSON parse error.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'Body cannot be empty when content-type is set to application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: 'Unsupported media type.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, message: 'Content-Length does not match the body.' },
  FST_ERR_BAD_URL: { status: 400, message: 'Malformed URL.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, message: 'Bad request.' },
};

/** Turns a validation path into DRF's field key (/attributes/x → "attributes"). */
function fieldOf(path: string[], fallback: string): string {
  return path[0] ? path[0] : fallback;
}

/**
 * The API's error mapper: every error becomes Authentik's JSON shape and a 4xx/5xx. Bad input
 * never produces a 500; an unavailable backing service produces 503 (fail closed).
 */
export function toApiError(error: unknown): { status: number; body: Record<string, unknown> } {
  if (hasZodFastifySchemaValidationErrors(error)) {
    // A Map: a field named __proto__ (a form body may carry one) must not reach Object.prototype.
    const fields = new Map<string, string[]>();
    const addError = (field: string, message: string) => {
      fields.set(field, [...(fields.get(field) ?? []), message]);
    };
    const location = error.validationContext === 'body' ? 'non_field_errors' : String(error.validationContext);
    for (const { keyword, params, message, instancePath } of error.validation) {
      if (keyword === 'unrecognized_keys') {
        for (const key of (params as { keys?: string[] }).keys ?? []) addError(key, 'Unknown field.');
      } else {
        addError(fieldOf(instancePath.split('/').slice(1), location), message ?? 'Invalid value.');
      }
    }
    return { status: 400, body: Object.fromEntries(fields) };
  }
  if (error instanceof ValidationError) return { status: 400, body: error.fieldErrors };
  if (error instanceof GatehouseError) {
    return { status: error.status, body: { detail: error.isExposable ? error.message : 'Internal error.' } };
  }
  if (isDatabaseUnavailable(error)) return toApiError(new ServiceUnavailable(undefined, { cause: error }));
  if (isRejectedValue(error)) return { status: 400, body: { detail: 'Invalid value.' } };
  const fastifyError = error as FastifyError;
  const known = fastifyError.code ? CLIENT_ERRORS[fastifyError.code] : undefined;
  if (known) return { status: known.status, body: { detail: known.message } };
  if (!isResponseSerializationError(error) && typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: { detail: fastifyError.message } };
  }
  return { status: 500, body: { detail: 'Internal error.' } };
}

export function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = toApiError(error);
  if (status >= 500) request.log.error({ err: error }, 'request_failed');
  else if (status === 503) request.log.warn({ err: error }, 'backing_service_unavailable');
  else request.log.info({ status, code: (error as { code?: string }).code }, 'request_rejected');
  if (status === 503) reply.header('Retry-After', '5');
  return reply.status(status).send(body);
}
