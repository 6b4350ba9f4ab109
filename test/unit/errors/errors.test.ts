import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_MISSING_ARGS,
  ERR_OUT_OF_RANGE,
  ERR_SERVER_NOT_RUNNING,
  systemError,
} from '../../../src/errors/errors.js';
import { decodeSockaddr, encodeSockaddrHv, encodeSockaddrVm, errorAddress } from '../../../src/address/address.js';

describe('argument errors read like Node’s', () => {
  it('ERR_INVALID_ARG_TYPE', () => {
    const err = ERR_INVALID_ARG_TYPE('options.port', 'number', 'x');
    expect(err).toBeInstanceOf(TypeError);
    expect(err.name).toBe('TypeError');
    expect(err.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(err.message).toBe(`The "options.port" property must be of type number. Received type string ('x')`);
    expect(String(err)).toBe(`TypeError [ERR_INVALID_ARG_TYPE]: ${err.message}`);
    expect(err.stack).toMatch(/^TypeError \[ERR_INVALID_ARG_TYPE\]: /);
    expect(ERR_INVALID_ARG_TYPE('port', 'number', null).message).toBe('The "port" argument must be of type number. Received null');
    expect(ERR_INVALID_ARG_TYPE('options', ['Object', 'number'], undefined).message).toBe(
      'The "options" argument must be one of type object or number. Received undefined',
    );
    expect(ERR_INVALID_ARG_TYPE('signal', 'AbortSignal', {}).message).toBe(
      'The "signal" argument must be an instance of AbortSignal. Received an instance of Object',
    );
    expect(ERR_INVALID_ARG_TYPE('cb', 'Function', 'a'.repeat(40)).message).toMatch(/Received type string \('a{24}\.\.\.\)$/);
  });

  it('ERR_INVALID_ARG_VALUE and ERR_OUT_OF_RANGE', () => {
    const value = ERR_INVALID_ARG_VALUE('vmId', 'x', 'must be a GUID');
    expect(value).toBeInstanceOf(TypeError);
    expect(value.message).toBe(`The argument 'vmId' must be a GUID. Received 'x'`);
    expect(ERR_INVALID_ARG_VALUE('options.cid', 7).message).toBe(`The property 'options.cid' is invalid. Received 7`);
    const range = ERR_OUT_OF_RANGE('port', '>= 0 && <= 4294967295', 5_000_000_000);
    expect(range).toBeInstanceOf(RangeError);
    expect(range.code).toBe('ERR_OUT_OF_RANGE');
    expect(range.message).toBe('The value of "port" is out of range. It must be >= 0 && <= 4294967295. Received 5_000_000_000');
    expect(ERR_OUT_OF_RANGE('x', 'an integer', 1.5).message).toMatch(/Received 1\.5$/);
  });

  it('the stateful ones', () => {
    expect(ERR_MISSING_ARGS('port', 'serviceId').message).toBe('The "port" and "serviceId" arguments must be specified');
    // A list is alternatives, as Node words connect()'s: The "options" or "port" or "path" argument must be specified.
    expect(ERR_MISSING_ARGS(['options', 'port', 'address']).message).toBe('The "options" or "port" or "address" argument must be specified');
    expect(ERR_SERVER_NOT_RUNNING()).toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING', message: 'Server is not running.' });
    const reason = new Error('why');
    const abort = AbortError(reason);
    expect(abort).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted', cause: reason });
  });
});

describe('systemError', () => {
  it('looks like node:net’s connect errors', () => {
    const err = systemError(-111, 'connect', errorAddress(decodeSockaddr(encodeSockaddrVm(1, 5000))));
    expect(err.message).toBe('connect ECONNREFUSED loopback:5000');
    expect(err).toMatchObject({ code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: 'loopback', cid: 1, port: 5000 });
    expect(err.serviceId).toBe('00001388-facb-11e6-bd58-64006a7986d3');
  });

  it('prints Hyper-V addresses in the short form and tolerates unknown numbers', () => {
    const vmId = 'a42e7cda-d03f-480c-9cc2-a4de20abb878';
    const serviceId = '12345678-1234-1234-1234-123456789abc';
    const someVm = '2b8c5d1e-0a3f-4c6d-9e7f-112233445566';
    expect(systemError(-111, 'connect', errorAddress(decodeSockaddr(encodeSockaddrHv(vmId, serviceId)))).message).toBe(
      `connect ECONNREFUSED parent:${serviceId}`,
    );
    const error = systemError(-111, 'connect', errorAddress(decodeSockaddr(encodeSockaddrHv(someVm, '00001388-facb-11e6-bd58-64006a7986d3'))));
    expect(error.message).toBe(`connect ECONNREFUSED ${someVm}:5000`);
    expect(error).toMatchObject({ address: someVm, vmId: someVm, port: 5000 });
    expect(systemError(-99999, 'read').code).toMatch(/^Unknown system error/);
    expect(systemError(-97, 'socket', { hint: 'no vsock here' }).message).toBe('socket EAFNOSUPPORT: no vsock here');
  });
});
