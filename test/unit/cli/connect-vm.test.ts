// `hvsock connect vm:NAME:PORT`: a Hyper-V VM by name, as SSH's ProxyCommand
// uses it on a Windows host; refused on Linux, saying what to write instead.
import { describe, expect, it } from 'vitest';
import { readConnectTarget } from '../../../src/cli/bridge.js';
import { UsageError } from '../../../src/cli/usage.js';
import { parseAddress } from '../../../src/address/text.js';

describe('hvsock connect vm:NAME:SERVICE', () => {
  it('reads a VM name and a port or service GUID on Windows', () => {
    expect(readConnectTarget('vm:MyVM:22', 'connect', 'win32')).toEqual({ vmName: 'MyVM', service: { port: 22 } });
    expect(readConnectTarget('VM:Ubuntu 24.04:0x16', 'connect', 'win32')).toEqual({ vmName: 'Ubuntu 24.04', service: { port: 22 } });
    // A name may hold colons: the service is after the last one.
    expect(readConnectTarget('vm:lab:web:3F2504E0-4F89-11D3-9A0C-0305E82C3301', 'connect', 'win32')).toEqual({
      vmName: 'lab:web',
      service: { serviceId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' },
    });
  });

  it('is a usage error that names the address when the name or service is missing or wrong', () => {
    for (const text of ['vm:MyVM', 'vm::22', 'vm:MyVM:ssh']) {
      expect(() => readConnectTarget(text, 'connect', 'win32'), text).toThrow(UsageError);
      expect(() => readConnectTarget(text, 'connect', 'win32'), text).toThrow(`address "${text}"`);
    }
  });

  it('is refused on Linux, where the host is parent', () => {
    expect(() => readConnectTarget('vm:MyVM:22', 'connect', 'linux')).toThrow(/only a Windows host can look up: from a Linux guest the host is parent/);
  });

  it('leaves every other address to the short form', () => {
    expect(readConnectTarget('parent:22', 'connect', 'linux')).toEqual(parseAddress('parent:22'));
    expect(readConnectTarget('3:5000', 'connect', 'linux')).toEqual({ cid: 3, port: 5000 });
    expect(() => readConnectTarget('any:22', 'connect', 'linux')).toThrow(UsageError);
  });
});
