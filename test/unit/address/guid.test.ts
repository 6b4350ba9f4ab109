import { describe, expect, it } from 'vitest';
import { HV_GUID_PARENT } from '../../../src/address/constants.js';
import {
  formatGuid,
  isGuid,
  isTemplateServiceId,
  normalizeGuid,
  parseGuid,
  portFromServiceId,
  serviceIdFromPort,
} from '../../../src/address/guid.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('GUID text', () => {
  it('accepts either case and paired braces', () => {
    expect(isGuid('A42E7CDA-D03F-480C-9CC2-A4DE20ABB878')).toBe(true);
    expect(isGuid('{a42e7cda-d03f-480c-9cc2-a4de20abb878}')).toBe(true);
    expect(normalizeGuid('{A42E7CDA-D03F-480C-9CC2-A4DE20ABB878}')).toBe(HV_GUID_PARENT);
  });

  it('refuses everything else', () => {
    for (const bad of ['', 'a42e7cda-d03f-480c-9cc2-a4de20abb87', '{a42e7cda-d03f-480c-9cc2-a4de20abb878',
      'a42e7cdad03f480c9cc2a4de20abb878', 'g42e7cda-d03f-480c-9cc2-a4de20abb878', 42, null, undefined]) {
      expect(isGuid(bad)).toBe(false);
    }
    expect(() => normalizeGuid('nope', 'options.vmId')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => normalizeGuid('nope', 'options.vmId')).toThrow("The property 'options.vmId' must be a GUID");
    expect(() => normalizeGuid(5 as unknown as string)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });
});

describe('GUID wire form', () => {
  it('is mixed-endian like Windows GUID structs', () => {
    expect(parseGuid(HV_GUID_PARENT).toString('hex')).toBe('da7c2ea43fd00c489cc2a4de20abb878');
    expect(parseGuid('00000001-0002-0003-0405-060708090a0b').toString('hex')).toBe('01000000020003000405060708090a0b');
  });

  it('round-trips, also from an offset', () => {
    const guid = '90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd';
    expect(formatGuid(parseGuid(guid))).toBe(guid);
    const framed = Buffer.concat([Buffer.from([1, 2, 3]), parseGuid(guid)]);
    expect(formatGuid(framed, 3)).toBe(guid);
    expect(formatGuid(new Uint8Array(parseGuid(guid)))).toBe(guid);
  });

  it('refuses short buffers and non-bytes', () => {
    expect(() => formatGuid(Buffer.alloc(15))).toThrow(RangeError);
    expect(() => formatGuid(Buffer.alloc(16), 1)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => formatGuid('x' as unknown as Uint8Array)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });
});

describe('template service GUIDs', () => {
  it('carry the port in Data1', () => {
    expect(serviceIdFromPort(0)).toBe('00000000-facb-11e6-bd58-64006a7986d3');
    expect(serviceIdFromPort(5000)).toBe('00001388-facb-11e6-bd58-64006a7986d3');
    expect(serviceIdFromPort(0x7fffffff)).toBe('7fffffff-facb-11e6-bd58-64006a7986d3');
    expect(portFromServiceId('{00001388-FACB-11E6-BD58-64006A7986D3}')).toBe(5000);
  });

  it('stop at 0x7FFFFFFF and refuse non-template GUIDs', () => {
    expect(() => serviceIdFromPort(0x80000000)).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => serviceIdFromPort(-1)).toThrow(RangeError);
    expect(() => serviceIdFromPort(1.5)).toThrow(RangeError);
    expect(() => serviceIdFromPort('5' as unknown as number)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(isTemplateServiceId('80000000-facb-11e6-bd58-64006a7986d3')).toBe(false);
    expect(isTemplateServiceId(HV_GUID_PARENT)).toBe(false);
    expect(() => portFromServiceId(HV_GUID_PARENT)).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => portFromServiceId('80000000-facb-11e6-bd58-64006a7986d3')).toThrow(/template/);
  });
});
