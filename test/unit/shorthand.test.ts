import { describe, expect, it } from 'vitest';
import { resolveAddress } from '../../src/address/address.js';
import { HV_GUID_CHILDREN, HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_SILOHOST, HV_GUID_WILDCARD } from '../../src/address/constants.js';
import { parseAddress } from '../../src/address/text.js';

const VM = '4a1a0b6e-8c1e-4c8e-9a7b-1f2e3d4c5b6a';
const SERVICE = 'b0b0b0b0-1111-2222-3333-444455556666';

describe('short address form', () => {
  it('reads ports, hex ports and service GUIDs, with or without a machine', () => {
    expect(parseAddress('5000')).toEqual({ port: 5000 });
    expect(parseAddress('0x1388')).toEqual({ port: 5000 });
    expect(parseAddress(`{${SERVICE.toUpperCase()}}`)).toEqual({ serviceId: SERVICE });
    expect(parseAddress('2:5000')).toEqual({ cid: 2, port: 5000 });
    expect(parseAddress(`${VM}:${SERVICE}`)).toEqual({ vmId: VM, serviceId: SERVICE });
    expect(parseAddress(` ${VM}:4294967295 `)).toEqual({ vmId: VM, port: 0xffffffff });
  });

  it('knows the well-known machines by name, case-insensitively', () => {
    expect(parseAddress('parent:5000')).toEqual({ vmId: HV_GUID_PARENT, port: 5000 });
    expect(parseAddress('Host:5000')).toEqual({ vmId: HV_GUID_PARENT, port: 5000 });
    expect(parseAddress(`loopback:${SERVICE}`)).toEqual({ vmId: HV_GUID_LOOPBACK, serviceId: SERVICE });
    expect(parseAddress('any:1')).toEqual({ vmId: HV_GUID_WILDCARD, port: 1 });
    expect(parseAddress('wildcard:1')).toEqual({ vmId: HV_GUID_WILDCARD, port: 1 });
    expect(parseAddress('children:1')).toEqual({ vmId: HV_GUID_CHILDREN, port: 1 });
    expect(parseAddress('silohost:1')).toEqual({ vmId: HV_GUID_SILOHOST, port: 1 });
  });

  it('means the same machine on both OSes once resolved', () => {
    const parent = parseAddress('parent:5000');
    expect(resolveAddress(parent, 'connect', 'linux').address).toMatchObject({ cid: 2, port: 5000 });
    expect(resolveAddress(parent, 'connect', 'win32').address).toMatchObject({ vmId: HV_GUID_PARENT, port: 5000 });
    expect(resolveAddress(parseAddress('1:7'), 'connect', 'win32').address.vmId).toBe(HV_GUID_LOOPBACK);
  });

  it('refuses malformed text with ERR_INVALID_ARG_VALUE saying which part is wrong', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /\[machine:\]service/],
      ['a:b:c', /\[machine:\]service/],
      [':5000', /\[machine:\]service/],
      ['parent:', /\[machine:\]service/],
      ['parent:http', /service "http"/],
      ['4294967296', /service "4294967296"/],
      ['-1', /service "-1"/],
      ['1.5', /service "1.5"/],
      ['mars:5000', /machine "mars".*loopback, parent/],
      ['0xZZ:1', /machine "0xZZ"/],
    ];
    for (const [text, message] of bad) {
      expect(() => parseAddress(text, 'target'), text).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(message) }),
      );
    }
    expect(() => parseAddress(5000)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
