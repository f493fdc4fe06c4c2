/**
 * One error hierarchy for the whole program. Code throws these; one mapper per protocol at the
 * edge turns them into the wire form (API JSON here; OAuth, SAML, LDAP in their folders).
 * `isExposable` says whether the message may be shown to the client as it is.
 */
export class GatehouseError extends Error {
  override name = 'GatehouseError';
  readonly code: string = 'internal_error';
  readonly status: number = 500;
  readonly isExposable: boolean = false;
}

/** Bad input, field by field, in Authentik's (DRF's) shape: { field: ["message"] }. */
export class ValidationError extends GatehouseError {
  override name = 'ValidationError';
  override readonly code = 'invalid';
  override readonly status = 400;
  override readonly isExposable = true;
  readonly fieldErrors: Record<string, string[]>;
  constructor(fieldErrors: Record<string, string[]>) {
    super(Object.entries(fieldErrors).map(([k, v]) => `${k}: ${v.join(', ')}`).join('; '));
    this.fieldErrors = fieldErrors;
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError({ [field]: [message] });
  }
}

export class NotAuthenticated extends GatehouseError {
  override name = 'NotAuthenticated';
  override readonly code = 'not_authenticated';
  override readonly status = 401;
  override readonly isExposable = true;
  constructor(message = 'Authentication credentials were not provided.') {
    super(message);
  }
}

export class PermissionDenied extends GatehouseError {
  override name = 'PermissionDenied';
  override readonly code = 'permission_denied';
  override readonly status = 403;
  override readonly isExposable = true;
  constructor(message = 'You do not have permission to perform this action.') {
    super(message);
  }
}

export class NotFound extends GatehouseError {
  override name = 'NotFound';
  override readonly code = 'not_found';
  override readonly status = 404;
  override readonly isExposable = true;
  constructor(message = 'Not found.') {
    super(message);
  }
}

/** Postgres or Redis cannot answer: fail closed with 503, never allow. */
export class ServiceUnavailable extends GatehouseError {
  override name = 'ServiceUnavailable';
  override readonly code = 'service_unavailable';
  override readonly status = 503;
  override readonly isExposable = true;
  constructor(message = 'A backing service is unavailable; try again shortly.', options?: ErrorOptions) {
    super(message, options);
  }
}
