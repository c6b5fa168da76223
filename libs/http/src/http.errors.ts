import { DomainError } from '@app/common';

/** A request body that is not JSON, or JSON in an encoding other than UTF-8. */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(detail: string) {
    super('UNSUPPORTED_MEDIA_TYPE', detail);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${limitBytes} bytes`);
  }
}

/** The path is a route, the method is not one of its methods. */
export class MethodNotAllowedError extends DomainError {
  constructor(method: string, path: string) {
    super('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
  }
}

/** No route has this path. */
export class NoRouteError extends DomainError {
  constructor(method: string, path: string) {
    super('NOT_FOUND', `No route ${method} ${path}`);
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body');
  }
}
