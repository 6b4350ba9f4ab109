// Argument checks in the style of Node's internal validators: each throws
// the error Node would throw for the same mistake.
import { ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE } from './errors.js';

export function validateObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ERR_INVALID_ARG_TYPE(name, 'Object', value);
  }
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw ERR_INVALID_ARG_TYPE(name, 'Function', value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw ERR_INVALID_ARG_TYPE(name, 'boolean', value);
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw ERR_INVALID_ARG_TYPE(name, 'string', value);
}

export function validateNumber(value: unknown, name: string, min?: number, max?: number): asserts value is number {
  if (typeof value !== 'number') throw ERR_INVALID_ARG_TYPE(name, 'number', value);
  if (
    (min !== undefined && value < min) ||
    (max !== undefined && value > max) ||
    ((min !== undefined || max !== undefined) && Number.isNaN(value))
  ) {
    const range =
      min !== undefined && max !== undefined
        ? `>= ${min} && <= ${max}`
        : min !== undefined
          ? `>= ${min}`
          : `<= ${max}`;
    throw ERR_OUT_OF_RANGE(name, range, value);
  }
}

export function validateInteger(value: unknown, name: string, min: number, max: number): asserts value is number {
  if (typeof value !== 'number') throw ERR_INVALID_ARG_TYPE(name, 'number', value);
  if (!Number.isInteger(value)) throw ERR_OUT_OF_RANGE(name, 'an integer', value);
  if (value < min || value > max) throw ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}

export function validateUint32(value: unknown, name: string, positive = false): asserts value is number {
  validateInteger(value, name, positive ? 1 : 0, 0xffffffff);
}

export function validateAbortSignal(value: unknown, name: string): asserts value is AbortSignal {
  if (value === null || typeof value !== 'object' || typeof (value as { aborted?: unknown }).aborted !== 'boolean') {
    throw ERR_INVALID_ARG_TYPE(name, 'AbortSignal', value);
  }
}
