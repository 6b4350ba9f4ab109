import { describe, expect, it } from 'vitest';
import {
  decodeSockaddr,
  decodeSockaddrHv,
  decodeSockaddrVm,
  encodeSockaddrHv,
  encodeSockaddrVm,
  formatAddress,
  resolveAddress,
} from '../../../src/address/address.js';
import {
  HV_GUID_BROADCAST,
  HV_GUID_CHILDREN,
  HV_GUID_LOOPBACK,
  HV_GUID_PARENT,
  HV_GUID_SILOHOST,
  HV_GUID_WILDCARD,
  HV_GUID_ZERO,
  VMADDR_CID_ANY,
  VMADDR_PORT_ANY,
} from '../../../src/address/constants.js';
import { serviceIdFromPort } from '../../../src/address/guid.js';
import { parseAddress } from '../../../src/address/text.js';

const code = (c: string) => expect.objectContaining({ code: c });
const SOME_VM = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const SOME_SERVICE = '12345678-9abc-def0-1234-56789abcdef0';

describe('sockaddr_vm', () => {
  it('encodes byte for byte', () => {
    const b = encodeSockaddrVm(2, 5000, 1);
    expect(b.length).toBe(16);
    expect(b.toString('hex')).toBe('2800' + '0000' + '88130000' + '02000000' + '01' + '000000');
  });

  it('decodes with every mapped form filled in', () => {
    expect(decodeSockaddrVm(encodeSockaddrVm(1, 5000))).toEqual({
      family: 'AF_VSOCK', address: 'loopback', cid: 1, port: 5000, vmId: HV_GUID_LOOPBACK, serviceId: serviceIdFromPort(5000),
    });
    expect(decodeSockaddrVm(encodeSockaddrVm(2, 1))).toMatchObject({ vmId: HV_GUID_PARENT });
    expect(decodeSockaddrVm(encodeSockaddrVm(VMADDR_CID_ANY, 1))).toMatchObject({ vmId: HV_GUID_WILDCARD });
    // A guest CID and a kernel-picked high port have no Hyper-V form.
    expect(decodeSockaddrVm(encodeSockaddrVm(7, 0x80000001))).toEqual({ family: 'AF_VSOCK', address: '7', cid: 7, port: 0x80000001 });
  });

  it('refuses what is not a sockaddr_vm', () => {
    expect(() => decodeSockaddrVm(Buffer.alloc(16))).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => encodeSockaddrVm(-1, 1)).toThrow(RangeError);
  });
});

describe('SOCKADDR_HV', () => {
  it('encodes byte for byte: family 34, VmId @4, ServiceId @20', () => {
    const b = encodeSockaddrHv(HV_GUID_PARENT, serviceIdFromPort(5000));
    expect(b.length).toBe(36);
    expect(b.readUInt16LE(0)).toBe(34);
    expect(b.readUInt16LE(2)).toBe(0);
    expect(b.subarray(4, 20).toString('hex')).toBe('da7c2ea43fd00c489cc2a4de20abb878');
    expect(b.subarray(20, 36).toString('hex')).toBe('88130000cbfae611bd5864006a7986d3');
  });

  it('decodes with the Linux forms where they exist', () => {
    expect(decodeSockaddrHv(encodeSockaddrHv(HV_GUID_PARENT, serviceIdFromPort(5000)))).toEqual({
      family: 'AF_HYPERV', address: 'parent', vmId: HV_GUID_PARENT, serviceId: serviceIdFromPort(5000), cid: 2, port: 5000,
    });
    expect(decodeSockaddrHv(encodeSockaddrHv(SOME_VM, SOME_SERVICE))).toEqual({
      family: 'AF_HYPERV', address: SOME_VM, vmId: SOME_VM, serviceId: SOME_SERVICE,
    });
  });

  it('decodeSockaddr dispatches on the family', () => {
    expect(decodeSockaddr(encodeSockaddrVm(1, 2)).family).toBe('AF_VSOCK');
    expect(decodeSockaddr(encodeSockaddrHv(SOME_VM, SOME_SERVICE)).family).toBe('AF_HYPERV');
    expect(() => decodeSockaddr(Buffer.from([2, 0, 0, 0]))).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => decodeSockaddr(Buffer.alloc(0))).toThrow(TypeError);
  });
});

describe('resolveAddress on Linux', () => {
  const linux = (input: unknown, purpose: 'listen' | 'connect' = 'connect') => resolveAddress(input, purpose, 'linux');

  it('takes the native form as is', () => {
    const r = linux({ cid: 3, port: 5000 });
    expect(r.family).toBe(40);
    expect(decodeSockaddrVm(r.sockaddr)).toEqual({ family: 'AF_VSOCK', address: '3', cid: 3, port: 5000, serviceId: serviceIdFromPort(5000) });
    expect(r.address).toEqual({ family: 'AF_VSOCK', address: '3', cid: 3, port: 5000, serviceId: serviceIdFromPort(5000) });
  });

  it('maps well-known VM IDs and template service GUIDs', () => {
    expect(linux({ vmId: HV_GUID_PARENT, serviceId: serviceIdFromPort(80) }).address).toMatchObject({ cid: 2, port: 80 });
    expect(linux({ vmId: HV_GUID_LOOPBACK, port: 80 }).address.cid).toBe(1);
    expect(linux({ vmId: HV_GUID_WILDCARD, port: 80 }, 'listen').address.cid).toBe(VMADDR_CID_ANY);
    expect(linux({ vmId: HV_GUID_ZERO, port: 80 }, 'listen').address.cid).toBe(VMADDR_CID_ANY);
    expect(linux({ vmId: HV_GUID_CHILDREN, port: 80 }, 'listen').address.cid).toBe(VMADDR_CID_ANY);
    expect(linux({ vmId: `{${HV_GUID_PARENT.toUpperCase()}}`, port: 80 }).address.cid).toBe(2);
  });

  it('defaults: listen on any CID, connect to loopback; port 0 listens on a free port', () => {
    expect(linux({ port: 9 }, 'listen').address.cid).toBe(VMADDR_CID_ANY);
    expect(linux({ port: 9 }).address.cid).toBe(1);
    expect(decodeSockaddrVm(linux({ port: 0 }, 'listen').sockaddr).port).toBe(VMADDR_PORT_ANY);
  });

  it('sets VMADDR_FLAG_TO_HOST for toHost', () => {
    expect(linux({ cid: 2, port: 1, toHost: true }).sockaddr[12]).toBe(1);
    expect(linux({ cid: 2, port: 1 }).sockaddr[12]).toBe(0);
    expect(() => linux({ port: 1, toHost: true }, 'listen')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => linux({ port: 1, toHost: 'yes' })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  });

  it('refuses forms without meaning on Linux, saying why', () => {
    expect(() => linux({ vmId: SOME_VM, port: 1 })).toThrow(/specific VM.*CID/);
    expect(() => linux({ vmId: HV_GUID_BROADCAST, port: 1 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => linux({ vmId: HV_GUID_SILOHOST, port: 1 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => linux({ cid: 1, serviceId: SOME_SERVICE })).toThrow(/template service GUID/);
    expect(() => linux({ vmId: HV_GUID_WILDCARD, port: 1 })).toThrow(/not a connect target/);
    expect(() => linux({ cid: VMADDR_CID_ANY, port: 1 })).toThrow(/not a connect target/);
    expect(() => linux({ cid: 1, port: 0 })).toThrow(/not a connect target/);
  });

  it('refuses malformed input with the right error class', () => {
    expect(() => linux(undefined)).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => linux('1:5000')).toThrow(TypeError);
    expect(() => linux({ cid: 1 })).toThrow(/must name a service/);
    expect(() => linux({ cid: 1, vmId: HV_GUID_PARENT, port: 1 })).toThrow(/must name the machine once: host, cid or vmId/);
    expect(() => linux({ port: 1, serviceId: SOME_SERVICE })).toThrow(/port or serviceId, not both/);
    expect(() => linux({ cid: 1, port: 2 ** 32 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => linux({ cid: -1, port: 1 })).toThrow(RangeError);
    expect(() => linux({ cid: 1.5, port: 1 })).toThrow(RangeError);
    expect(() => linux({ cid: '1', port: 1 })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => linux({ vmId: 42, port: 1 })).toThrow(code('ERR_INVALID_ARG_TYPE'));
    expect(() => linux({ vmId: 'parent', port: 1 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
  });
});

describe('resolveAddress on Windows', () => {
  const win = (input: unknown, purpose: 'listen' | 'connect' = 'connect') => resolveAddress(input, purpose, 'win32');

  it('takes the native form as is', () => {
    const r = win({ vmId: SOME_VM, serviceId: SOME_SERVICE });
    expect(r.family).toBe(34);
    expect(r.sockaddr.equals(encodeSockaddrHv(SOME_VM, SOME_SERVICE))).toBe(true);
    expect(r.address).toEqual({ family: 'AF_HYPERV', address: SOME_VM, vmId: SOME_VM, serviceId: SOME_SERVICE });
  });

  it('maps CIDs 1, 2 and ANY and ports to template GUIDs', () => {
    expect(win({ cid: 2, port: 5000 }).address).toEqual({
      family: 'AF_HYPERV', address: 'parent', vmId: HV_GUID_PARENT, serviceId: serviceIdFromPort(5000), cid: 2, port: 5000,
    });
    expect(win({ cid: 1, port: 1 }).address.vmId).toBe(HV_GUID_LOOPBACK);
    expect(win({ cid: VMADDR_CID_ANY, port: 1 }, 'listen').address.vmId).toBe(HV_GUID_WILDCARD);
  });

  it('defaults: listen on the wildcard, connect to loopback', () => {
    expect(win({ port: 1 }, 'listen').address.vmId).toBe(HV_GUID_WILDCARD);
    expect(win({ serviceId: SOME_SERVICE }).address.vmId).toBe(HV_GUID_LOOPBACK);
  });

  it('refuses forms without meaning on Windows, saying why', () => {
    expect(() => win({ cid: 3, port: 1 })).toThrow(/has no meaning on Windows/);
    expect(() => win({ cid: 0, port: 1 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => win({ port: 0 }, 'listen')).toThrow(/cannot pick a free service/);
    expect(() => win({ port: 0x80000000 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => win({ vmId: HV_GUID_BROADCAST, port: 1 })).toThrow(/not a connect target/);
    expect(() => win({ vmId: HV_GUID_CHILDREN, port: 1 })).toThrow(/not a connect target/);
    expect(() => win({ cid: VMADDR_CID_ANY, port: 1 })).toThrow(/not a connect target/);
    expect(() => win({ port: 1, toHost: true })).toThrow(/Linux vsock option/);
    expect(win({ vmId: HV_GUID_CHILDREN, port: 1 }, 'listen').address.vmId).toBe(HV_GUID_CHILDREN);
  });
});

describe('an address as address() gives it is a connect target (connect(server.address()))', () => {
  it('Linux: cid and vmId, port and serviceId naming the same machine and service are one address', () => {
    for (const [cid, port] of [[1, 5000], [2, 1], [3, 0x7fffffff], [3, 0x80000000]] as const) {
      const address = decodeSockaddrVm(encodeSockaddrVm(cid, port));
      const r = resolveAddress(address, 'connect', 'linux');
      expect(r.sockaddr.equals(encodeSockaddrVm(cid, port))).toBe(true);
      expect(r.address).toEqual(address);
    }
  });

  it('Windows: the same for a VM ID and service GUID with a CID and port', () => {
    for (const address of [
      decodeSockaddrHv(encodeSockaddrHv(HV_GUID_PARENT, serviceIdFromPort(5000))),
      decodeSockaddrHv(encodeSockaddrHv(HV_GUID_LOOPBACK, SOME_SERVICE)),
      decodeSockaddrHv(encodeSockaddrHv(SOME_VM, serviceIdFromPort(7))),
    ]) {
      const r = resolveAddress(address, 'connect', 'win32');
      expect(r.sockaddr.equals(encodeSockaddrHv(address.vmId as string, address.serviceId as string))).toBe(true);
      expect(r.address).toEqual(address);
    }
  });

  it('forms that contradict each other still throw, saying why', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const resolve = (input: unknown) => resolveAddress(input, 'connect', platform);
      expect(() => resolve({ cid: 1, vmId: HV_GUID_PARENT, port: 1 })).toThrow(/must name the machine once.*same machine/);
      expect(() => resolve({ cid: 3, vmId: SOME_VM, port: 1 })).toThrow(code('ERR_INVALID_ARG_VALUE'));
      expect(() => resolve({ cid: 1, port: 1, serviceId: serviceIdFromPort(2) })).toThrow(/port or serviceId, not both/);
      expect(() => resolve({ cid: 1, port: 0x80000000, serviceId: serviceIdFromPort(0) })).toThrow(/port or serviceId, not both/);
      expect(() => resolve({ host: 'loopback', cid: 1, port: 1 })).toThrow(/must name the machine once/);
    }
    // A wildcard listener's address names "any", which stays a listen-only machine.
    expect(() => resolveAddress(decodeSockaddrVm(encodeSockaddrVm(VMADDR_CID_ANY, 5)), 'connect', 'linux')).toThrow(/not a connect target/);
  });
});

describe('formatAddress (the short form)', () => {
  it('names the machines that have a name, else the CID (Linux) or the VM GUID (Windows); the port where the service has one', () => {
    expect(formatAddress(decodeSockaddrVm(encodeSockaddrVm(1, 5)))).toBe('loopback:5');
    expect(formatAddress(decodeSockaddrVm(encodeSockaddrVm(2, 5000)))).toBe('parent:5000');
    expect(formatAddress(decodeSockaddrVm(encodeSockaddrVm(VMADDR_CID_ANY, 5000)))).toBe('any:5000');
    expect(formatAddress(decodeSockaddrVm(encodeSockaddrVm(7, 0x80000001)))).toBe('7:2147483649');
    expect(formatAddress(decodeSockaddrHv(encodeSockaddrHv(SOME_VM, SOME_SERVICE)))).toBe(`${SOME_VM}:${SOME_SERVICE}`);
    expect(formatAddress(decodeSockaddrHv(encodeSockaddrHv(HV_GUID_CHILDREN, serviceIdFromPort(80))))).toBe('children:80');
    expect(formatAddress(decodeSockaddrHv(encodeSockaddrHv(HV_GUID_LOOPBACK, SOME_SERVICE)))).toBe(`loopback:${SOME_SERVICE}`);
    expect(formatAddress({})).toBe('');
  });

  it('prints what parseAddress reads back to the same address', () => {
    const cases = [
      ['loopback:5', 'connect', 'linux'],
      ['parent:5000', 'connect', 'linux'],
      ['any:80', 'listen', 'linux'],
      ['7:2147483649', 'connect', 'linux'],
      ['loopback:5', 'connect', 'win32'],
      [`${SOME_VM}:${SOME_SERVICE}`, 'connect', 'win32'],
      ['children:80', 'listen', 'win32'],
      ['silohost:1', 'connect', 'win32'],
    ] as const;
    for (const [text, purpose, platform] of cases) {
      expect(formatAddress(resolveAddress(parseAddress(text), purpose, platform).address), `${text} on ${platform}`).toBe(text);
    }
  });
});
