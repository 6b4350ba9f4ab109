import { describe, expect, it } from 'vitest';
import { DEFAULT_TCP_LISTEN_HOST, isHvsockEnd, parseEnd } from '../../../src/forward/ends.js';
import { HV_GUID_PARENT, HV_GUID_WILDCARD } from '../../../src/address/constants.js';

const code = (c: string) => expect.objectContaining({ code: c });
const SERVICE = '00000016-facb-11e6-bd58-64006a7986d3';

/** The error parseEnd throws: its class, code and message. */
function failure(text: unknown, role: 'listen' | 'target', platform: 'linux' | 'win32' | undefined, field = 'f') {
  try {
    parseEnd(text, role, field, platform);
  } catch (error) {
    return error as TypeError & { code: string };
  }
  throw new Error(`${String(text)} was accepted`);
}

describe('forward ends: tcp:', () => {
  it('tcp:PORT listens on 127.0.0.1 and targets localhost; tcp:HOST:PORT keeps the host', () => {
    expect(DEFAULT_TCP_LISTEN_HOST).toBe('127.0.0.1');
    expect(parseEnd('tcp:2222', 'listen', 'f', 'linux')).toEqual({ kind: 'tcp', text: 'tcp:2222', host: '127.0.0.1', port: 2222 });
    expect(parseEnd('tcp:2222', 'target', 'f', 'linux')).toEqual({ kind: 'tcp', text: 'tcp:2222', host: 'localhost', port: 2222 });
    expect(parseEnd('tcp:0.0.0.0:8080', 'listen', 'f', 'linux')).toEqual({ kind: 'tcp', text: 'tcp:0.0.0.0:8080', host: '0.0.0.0', port: 8080 });
    expect(parseEnd('tcp:db.example:5432', 'target', 'f', 'win32')).toMatchObject({ host: 'db.example', port: 5432 });
    expect(parseEnd('tcp:my_host-1:1', 'target', 'f', undefined)).toMatchObject({ host: 'my_host-1', port: 1 });
    // The scheme in any case, spaces around the end ignored.
    expect(parseEnd('  TCP:5 ', 'listen', 'f', 'linux')).toEqual({ kind: 'tcp', text: 'TCP:5', host: '127.0.0.1', port: 5 });
  });

  it('IPv6 hosts in brackets; without them, what to write', () => {
    expect(parseEnd('tcp:[::1]:80', 'target', 'f', 'linux')).toEqual({ kind: 'tcp', text: 'tcp:[::1]:80', host: '::1', port: 80 });
    expect(parseEnd('tcp:[::]:0', 'listen', 'f', 'linux')).toMatchObject({ host: '::', port: 0 });
    expect(parseEnd('tcp:[fe80::1%eth0]:22', 'target', 'f', 'linux')).toMatchObject({ host: 'fe80::1%eth0', port: 22 });
    const e = failure('tcp:::1:80', 'target', 'linux');
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(e.message).toBe("The argument 'f' has an IPv6 host without brackets: write tcp:[::1]:PORT. Received 'tcp:::1:80'");
  });

  it('ports: 0 (any free port) only to listen, 1 to 65535 otherwise, digits only', () => {
    expect(parseEnd('tcp:0', 'listen', 'f', 'linux')).toMatchObject({ port: 0 });
    expect(parseEnd('tcp:65535', 'target', 'f', 'linux')).toMatchObject({ port: 65535 });
    expect(failure('tcp:0', 'target', 'linux').message).toBe('The argument \'f\' has TCP port "0": write a number from 1 to 65535. Received \'tcp:0\'');
    expect(failure('tcp:65536', 'listen', 'linux').message).toMatch(/has TCP port "65536": write a number from 0 to 65535/);
    for (const bad of ['tcp:x', 'tcp:', 'tcp:-1', 'tcp:0x10', 'tcp:1.5', 'tcp:123456', 'tcp:host:']) {
      expect(failure(bad, 'target', 'linux'), bad).toEqual(code('ERR_INVALID_ARG_VALUE'));
      expect(failure(bad, 'target', 'linux').message, bad).toMatch(/^The argument 'f' has TCP port /);
    }
  });

  it('a host that is no host, and an empty one', () => {
    expect(failure('tcp:bad host:80', 'target', 'linux').message).toBe(
      "The argument 'f' has host \"bad host\", which is neither an IP address nor a host name. Received 'tcp:bad host:80'",
    );
    expect(failure('tcp:-x:80', 'target', 'linux').message).toMatch(/has host "-x"/);
    expect(failure('tcp::80', 'target', 'linux').message).toMatch(/has an empty host: write tcp:PORT or tcp:HOST:PORT/);
    expect(failure('tcp:[]:80', 'target', 'linux').message).toMatch(/has an empty host/);
  });
});

describe('forward ends: unix:, pipe:, fd:', () => {
  it('unix:PATH on Linux (and where the platform is not said); on Windows, write pipe:', () => {
    expect(parseEnd('unix:/run/app.sock', 'listen', 'f', 'linux')).toEqual({ kind: 'unix', text: 'unix:/run/app.sock', path: '/run/app.sock' });
    expect(parseEnd('unix:rel.sock', 'target', 'f', undefined)).toEqual({ kind: 'unix', text: 'unix:rel.sock', path: 'rel.sock' });
    expect(failure('unix:', 'listen', 'linux').message).toBe("The argument 'f' must be unix:PATH. Received 'unix:'");
    expect(failure('unix:/a', 'target', 'win32').message).toBe(
      "The argument 'f' is a Unix domain socket, which Node does not offer on Windows: write pipe:NAME. Received 'unix:/a'",
    );
  });

  it('pipe:NAME and pipe:\\\\.\\pipe\\NAME on Windows, both the same path; on Linux, write unix:', () => {
    const path = '\\\\.\\pipe\\hvsock-fwd';
    expect(parseEnd('pipe:hvsock-fwd', 'listen', 'f', 'win32')).toEqual({ kind: 'pipe', text: 'pipe:hvsock-fwd', path });
    expect(parseEnd(`pipe:${path}`, 'target', 'f', 'win32')).toEqual({ kind: 'pipe', text: `pipe:${path}`, path });
    expect(parseEnd('pipe:x', 'listen', 'f', undefined)).toMatchObject({ kind: 'pipe' });
    for (const bad of ['pipe:', 'pipe:a\\b', `pipe:${'n'.repeat(257)}`, 'pipe:\\\\.\\pipe\\']) {
      expect(failure(bad, 'listen', 'win32').message, bad).toMatch(/must be pipe:NAME or pipe:\\\\\.\\pipe\\NAME, a name of 1 to 256 characters without a backslash/);
    }
    expect(parseEnd(`pipe:${'n'.repeat(256)}`, 'listen', 'f', 'win32')).toMatchObject({ kind: 'pipe' });
    expect(failure('pipe:x', 'listen', 'linux').message).toBe("The argument 'f' is a Windows named pipe: on Linux write unix:PATH. Received 'pipe:x'");
  });

  it('fd:N to listen only (an inherited socket)', () => {
    expect(parseEnd('fd:3', 'listen', 'f', 'linux')).toEqual({ kind: 'fd', text: 'fd:3', fd: 3 });
    expect(parseEnd('fd:0', 'listen', 'f', 'win32')).toEqual({ kind: 'fd', text: 'fd:0', fd: 0 });
    expect(failure('fd:3', 'target', 'linux').message).toBe("The argument 'f' is an inherited listening socket, which only a listen end can be. Received 'fd:3'");
    for (const bad of ['fd:', 'fd:x', 'fd:-1', 'fd:1234567890']) {
      expect(failure(bad, 'listen', 'linux').message, bad).toMatch(/must be fd:N, N a file descriptor number/);
    }
  });
});

describe('forward ends: hvsock addresses and vm:NAME', () => {
  it('the short form, checked for the platform and the role', () => {
    expect(parseEnd('any:5000', 'listen', 'f', 'linux')).toEqual({ kind: 'hvsock', text: 'any:5000', address: { port: 5000, vmId: HV_GUID_WILDCARD } });
    expect(parseEnd('parent:22', 'target', 'f', 'win32')).toEqual({ kind: 'hvsock', text: 'parent:22', address: { port: 22, vmId: HV_GUID_PARENT } });
    expect(parseEnd('3:22', 'target', 'f', 'linux')).toEqual({ kind: 'hvsock', text: '3:22', address: { port: 22, cid: 3 } });
    expect(parseEnd('wsl:8080', 'target', 'f', 'win32')).toEqual({ kind: 'hvsock', text: 'wsl:8080', address: { port: 8080, wsl: true } });
    // A wildcard cannot be dialed; a CID means nothing on Windows: the field is named.
    expect(failure('any:5000', 'target', 'linux').message).toMatch(/^The property 'f\.vmId' is a listen wildcard, not a connect target/);
    expect(failure('3:22', 'target', 'win32').message).toMatch(/^The property 'f\.cid' has no meaning on Windows/);
    // Without a platform only the form is checked.
    expect(parseEnd('3:22', 'target', 'f', undefined)).toMatchObject({ kind: 'hvsock' });
  });

  it('host:port without a scheme: write tcp:, with every form listed', () => {
    for (const text of ['localhost:22', '10.0.0.1:22', '[::1]:22']) {
      const e = failure(text, 'target', 'linux');
      expect(e, text).toEqual(code('ERR_INVALID_ARG_VALUE'));
      expect(e.message, text).toContain(`is not an end of a forward: write tcp:${text} for TCP, or one of an hvsock address (any:5000`);
      expect(e.message, text).toContain('tcp:[HOST:]PORT, unix:PATH, pipe:NAME or (to listen) fd:N');
    }
    expect(failure('garbage', 'listen', 'linux').message).toMatch(/service "garbage"/);
  });

  it('vm:NAME:PORT and vm:NAME:<service-guid>: a Windows host\'s targets', () => {
    expect(parseEnd('vm:MyVM:22', 'target', 'f', 'win32')).toEqual({ kind: 'vm', text: 'vm:MyVM:22', vmName: 'MyVM', service: { port: 22 } });
    expect(parseEnd('VM:My VM:0x16', 'target', 'f', 'win32')).toEqual({ kind: 'vm', text: 'VM:My VM:0x16', vmName: 'My VM', service: { port: 22 } });
    // The last colon splits: a name may hold one.
    expect(parseEnd('vm:a:b:5', 'target', 'f', undefined)).toMatchObject({ vmName: 'a:b', service: { port: 5 } });
    expect(parseEnd(`vm:MyVM:${SERVICE.toUpperCase()}`, 'target', 'f', 'win32')).toMatchObject({ service: { serviceId: SERVICE } });
    expect(failure('vm:MyVM:22', 'listen', 'win32').message).toBe(
      "The argument 'f' names one VM, which a listener cannot be: listen on any:22 and allow vm:MyVM. Received 'vm:MyVM:22'",
    );
    expect(failure('vm:MyVM:22', 'target', 'linux').message).toMatch(/names a Hyper-V VM, which only a Windows host can look up: from a Linux guest the host is parent/);
    for (const bad of ['vm::22', 'vm:MyVM:', 'vm:MyVM', 'vm: :22']) {
      expect(failure(bad, 'target', 'win32').message, bad).toMatch(/must be vm:NAME:PORT or vm:NAME:<service-guid>, e\.g\. vm:MyVM:22/);
    }
    expect(failure('vm:MyVM:ssh', 'target', 'win32').message).toMatch(/has service "ssh", which is neither a port \(0 to 0xFFFFFFFF\) nor a GUID/);
  });

  it('isHvsockEnd: hvsock addresses and inherited sockets, whose peers an allowlist names', () => {
    const kinds = ['any:1', 'fd:3', 'tcp:1', 'unix:/x'].map((text) => isHvsockEnd(parseEnd(text, 'listen', 'f', 'linux')));
    expect(kinds).toEqual([true, true, false, false]);
    expect(isHvsockEnd(parseEnd('pipe:x', 'listen', 'f', 'win32'))).toBe(false);
  });
});

describe('forward ends: what is not an end', () => {
  it('a non-string is ERR_INVALID_ARG_TYPE; an empty one says every form', () => {
    for (const bad of [5, null, undefined, {}, ['tcp:1']]) {
      const e = failure(bad, 'listen', 'linux', 'rules[2].listen');
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(e.message).toMatch(/^The "rules\[2\]\.listen" property must be of type string/);
    }
    for (const empty of ['', '   ']) {
      expect(failure(empty, 'listen', 'linux', 'listen').message).toMatch(/^The argument 'listen' is empty: write an hvsock address .* or \(to listen\) fd:N\. Received/);
    }
  });

  it('every message names the field it was given', () => {
    for (const [text, role, platform] of [
      ['tcp:x', 'listen', 'linux'],
      ['unix:', 'target', 'linux'],
      ['pipe:x', 'target', 'linux'],
      ['fd:x', 'listen', 'linux'],
      ['vm:a:22', 'listen', 'win32'],
      ['localhost:1', 'target', 'linux'],
    ] as const) {
      expect(failure(text, role, platform, 'forwards[4].target').message, text).toMatch(/^The (argument|property) 'forwards\[4\]\.target/);
    }
  });
});
