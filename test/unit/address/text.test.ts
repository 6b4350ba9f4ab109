import { describe, expect, it } from 'vitest';
import { resolveAddress } from '../../../src/address/address.js';
import { HV_GUID_CHILDREN, HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_SILOHOST, HV_GUID_WILDCARD } from '../../../src/address/constants.js';
import { parseAddress } from '../../../src/address/text.js';

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
      ['mars:5000', /machine "mars", which is not a machine.*loopback, parent/],
      ['10.0.0.5:5000', /machine "10\.0\.0\.5", which is an IP address.*not by IP.*parent/],
      ['[fe80::1]:5000', /machine "fe80::1", which is an IP address/],
      ['localhost:5000', /host name: for this machine write loopback/],
      ['vm1.example.com:5000', /host name, but Hyper-V sockets have no name resolution/],
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

describe('the host option (the machine part, as node:net\'s host)', () => {
  const on = (platform: 'linux' | 'win32', input: unknown, purpose: 'listen' | 'connect' = 'connect') =>
    resolveAddress(input, purpose, platform).address;

  it('takes every machine the short form names, on both OSes', () => {
    expect(on('linux', { host: 'parent', port: 5000 })).toMatchObject({ cid: 2, port: 5000, address: 'parent' });
    expect(on('linux', { host: 'loopback', port: 1 })).toMatchObject({ cid: 1 });
    expect(on('linux', { host: '3', port: 1 })).toMatchObject({ cid: 3, address: '3' });
    expect(on('linux', { host: ' any ', port: 1 }, 'listen')).toMatchObject({ address: 'any' });
    expect(on('win32', { host: 'Parent', port: 5000 })).toMatchObject({ vmId: HV_GUID_PARENT, address: 'parent' });
    expect(on('win32', { host: VM, serviceId: SERVICE })).toMatchObject({ vmId: VM, serviceId: SERVICE, address: VM });
    expect(on('win32', { host: 'children', port: 1 }, 'listen')).toMatchObject({ vmId: HV_GUID_CHILDREN });
  });

  it('refuses an IP address or a DNS name, saying what to write instead', () => {
    for (const [host, message] of [
      ['10.0.0.5', /options\.host' is an IP address.*write the machine as a CID, a VM GUID or one of loopback, parent/],
      ['::1', /is an IP address/],
      ['localhost', /for this machine write loopback/],
      ['build-vm.corp.example', /no name resolution/],
      ['mars', /is not a machine/],
    ] as const) {
      expect(() => on('linux', { host, port: 5000 }), host).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(message) }),
      );
    }
  });

  it('names the machine once: host with cid or vmId is an error; a non-string host a type error', () => {
    expect(() => on('linux', { host: 'parent', cid: 2, port: 1 })).toThrow(/must name the machine once: host, cid or vmId/);
    expect(() => on('win32', { host: 'parent', vmId: VM, port: 1 })).toThrow(/must name the machine once/);
    expect(() => on('linux', { host: 2, port: 1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('host "wsl" is for Server.listen, which follows the VM; anywhere else it says how to connect', () => {
    expect(() => on('win32', { host: 'wsl', port: 5000 })).toThrow(/getWslVmId/);
  });
});
