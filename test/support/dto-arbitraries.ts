import type { Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import {
  getMetadataStorage,
  IS_BOOLEAN,
  IS_EMAIL,
  IS_ENUM,
  IS_IN,
  IS_INT,
  IS_ISO8601,
  IS_LENGTH,
  IS_NUMBER,
  IS_STRING,
  IS_UUID,
  MAX,
  MAX_LENGTH,
  MIN,
} from 'class-validator';
import fc from 'fast-check';

import { REQUIRED_PERMISSIONS, ROLE_PERMISSIONS } from '@app/auth';
import { IS_TAG_LIST, type RouteDefinition } from '@app/http';

/** One field of a DTO as its class-validator metadata describes it. */
export interface FieldSpec {
  name: string;
  required: boolean;
  /** `null` passes (IsOptional): the contract allows it for a few fields only. */
  nullable: boolean;
  isString: boolean;
  minLength?: number;
  maxLength?: number;
  /** A comma list in a query string (`status=a,b`) rather than a repeated parameter. */
  commaList: boolean;
  /** A repeatable query parameter (tag lists). */
  repeatable: boolean;
  valid: fc.Arbitrary<unknown>;
}

/** A route's input as the controller declares it: the @Body() and @Query() DTOs, and who may call it. */
export interface RouteInput {
  /** `METHOD /path/template` */
  key: string;
  method: string;
  path: string;
  body?: FieldSpec[];
  /** A POST with @NoBody(): none, or `{}`. */
  noBody: boolean;
  query?: FieldSpec[];
  /** The caller's role: admin wherever admin may call, else engineer. */
  role: 'admin' | 'engineer';
}

export interface IdPools {
  engineers: string[];
  incidents: string[];
  reviews: string[];
}

interface Constraint {
  name: string;
  args: unknown[];
  each: boolean;
}

const alphanumeric = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength, maxLength });

const tag = alphanumeric(1, 12);

function constraintsOf(dto: Type): Map<string, { constraints: Constraint[]; conditional?: string }> {
  const fields = new Map<string, { constraints: Constraint[]; conditional?: string }>();
  for (const meta of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
    const field = fields.get(meta.propertyName) ?? { constraints: [] };
    fields.set(meta.propertyName, field);
    if (meta.type === 'conditionalValidation') field.conditional = meta.name ?? 'validateIf';
    else if (meta.name) field.constraints.push({ name: meta.name, args: meta.constraints ?? [], each: meta.each === true });
  }
  return fields;
}

/**
 * Valid values for a field, from its constraints. A constraint this does not know fails loudly, so
 * that a new kind of field gets a generator instead of silently escaping the fuzzing.
 */
function validArbitrary(dto: Type, field: string, constraints: Constraint[], ids: string[]): fc.Arbitrary<unknown> {
  const named = new Map(constraints.map((constraint) => [constraint.name, constraint]));
  const arg = (name: string, index = 0): unknown => named.get(name)?.args[index];
  const each = constraints.some((constraint) => constraint.each);
  const single = ((): fc.Arbitrary<unknown> => {
    if (named.has(IS_ENUM)) return fc.constantFrom(...Object.values(arg(IS_ENUM) as Record<string, string>));
    if (named.has(IS_IN)) return fc.constantFrom(...(arg(IS_IN) as unknown[]));
    if (named.has(IS_UUID)) return fc.oneof(fc.constantFrom(...ids), fc.uuid());
    if (named.has(IS_EMAIL)) return fc.tuple(alphanumeric(1, 12), fc.nat()).map(([local, n]) => `${local}.${n}@example.com`);
    if (named.has(IS_TAG_LIST)) return fc.uniqueArray(tag, { maxLength: 5 });
    if (named.has(IS_BOOLEAN)) return fc.boolean();
    if (named.has(IS_ISO8601))
      return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((date) => date.toISOString());
    if (named.has(IS_INT))
      return fc.integer({ min: (arg(MIN) as number | undefined) ?? 0, max: (arg(MAX) as number | undefined) ?? 1_000 });
    if (named.has(IS_NUMBER))
      return fc.double({ min: (arg(MIN) as number | undefined) ?? 0, max: (arg(MAX) as number | undefined) ?? 1_000, noNaN: true });
    if (named.has(IS_STRING)) {
      const min = Math.max(1, (arg(IS_LENGTH) as number | undefined) ?? 1);
      const max = (arg(IS_LENGTH, 1) as number | undefined) ?? (arg(MAX_LENGTH) as number | undefined) ?? 200;
      return fc.oneof(
        { weight: 5, arbitrary: alphanumeric(min, Math.min(max, 40)) },
        { weight: 1, arbitrary: fc.constant('x'.repeat(max)) },
      );
    }
    throw new Error(`${dto.name}.${field}: no generator for constraints ${constraints.map((constraint) => constraint.name).join(', ')}`);
  })();
  return each ? fc.uniqueArray(single, { minLength: 1, maxLength: 3 }) : single;
}

export function fieldSpecs(dto: Type, ids: string[]): FieldSpec[] {
  return [...constraintsOf(dto)].map(([name, { constraints, conditional }]) => {
    const names = new Set(constraints.map((constraint) => constraint.name));
    const arg = (constraint: string, index = 0) =>
      constraints.find((candidate) => candidate.name === constraint)?.args[index] as number | undefined;
    return {
      name,
      required: conditional === undefined,
      nullable: conditional === 'isOptional',
      isString: names.has(IS_STRING),
      minLength: arg(IS_LENGTH),
      maxLength: arg(IS_LENGTH, 1) ?? arg(MAX_LENGTH),
      commaList: constraints.some((constraint) => constraint.each),
      repeatable: names.has(IS_TAG_LIST),
      valid: validArbitrary(dto, name, constraints, ids),
    };
  });
}

/** Every route's declared input, read from the controllers' own metadata. */
export function routeInputs(routes: RouteDefinition[], ids: IdPools): RouteInput[] {
  const allIds = [...ids.engineers, ...ids.incidents, ...ids.reviews];
  const adminPermissions = new Set<string>(ROLE_PERMISSIONS.admin);
  return routes.map((route) => {
    const handler = (route.controller.prototype as Record<string, unknown>)[route.handler] as object;
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, route.controller, route.handler) ?? {}) as Record<string, { index: number }>;
    const paramTypes = (Reflect.getMetadata('design:paramtypes', route.controller.prototype as object, route.handler) ?? []) as Type[];
    const dtoOf = (type: RouteParamtypes): Type | undefined => {
      const entry = Object.entries(args).find(([key]) => key.split(':')[0] === String(type));
      return entry ? paramTypes[entry[1].index] : undefined;
    };
    const bodyDto = dtoOf(RouteParamtypes.BODY);
    const queryDto = dtoOf(RouteParamtypes.QUERY);
    const interceptors = (Reflect.getMetadata('__interceptors__', handler) ?? []) as { name: string }[];
    const permissions = (Reflect.getMetadata(REQUIRED_PERMISSIONS, handler) ?? []) as string[];
    return {
      key: `${route.method} ${route.path}`,
      method: route.method,
      path: route.path,
      body: bodyDto ? fieldSpecs(bodyDto, allIds) : undefined,
      noBody: interceptors.some((interceptor) => interceptor.name === 'NoBodyInterceptor'),
      query: queryDto ? fieldSpecs(queryDto, allIds) : undefined,
      role: permissions.length === 0 || permissions.some((permission) => adminPermissions.has(permission)) ? 'admin' : 'engineer',
    };
  });
}

/** A valid body for the fields: every required one, and each optional one or not. */
export function validBody(fields: FieldSpec[]): fc.Arbitrary<Record<string, unknown>> {
  const requiredKeys = fields.filter((field) => field.required).map((field) => field.name);
  return fc.record(Object.fromEntries(fields.map((field) => [field.name, field.valid])), { requiredKeys });
}
