import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';

import { ValidationFailedError } from '@app/common';

import { validationFailed } from './validation-errors.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses any body field on a route that takes none, like the validation pipe refuses unknown fields elsewhere. */
@Injectable()
class NoBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body: unknown = context.switchToHttp().getRequest<FastifyRequest>().body;
    if (body === undefined || (isPlainObject(body) && Object.keys(body).length === 0)) return next.handle();
    if (!isPlainObject(body)) throw new ValidationFailedError('This request takes no body', []);
    throw validationFailed(Object.keys(body).map((field) => ({ field, message: `property ${field} should not exist` })));
  }
}

/** For a POST that takes no body: none, `{}`, or a 400 naming each field sent (the contract refuses unknown fields). */
export function NoBody(): MethodDecorator {
  return applyDecorators(
    UseInterceptors(NoBodyInterceptor),
    ApiBody({ required: false, description: 'None: any field is refused (400)', schema: { type: 'object', maxProperties: 0 } }),
  );
}
