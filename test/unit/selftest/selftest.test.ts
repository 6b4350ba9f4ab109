// The pure parts of `hvsock selftest`: verdict and exit code, the table, the
// address rules (on addresses recorded on real systems), and the option
// decoding. Nothing here runs a check: on this machine vsock reaches the real
// host, so the checks themselves run only in the VM suite (test/vm/selftest.test.ts)
// and on Windows (test/engine/selftest.test.cjs).
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { exitCodeOf } from '../../../src/cli/selftest.js';
import { HV_GUID_CHILDREN, HV_GUID_LOOPBACK, serviceIdFromPort, type HvSocketAddress } from '../../../src/index.js';
import type { NativeBinding, NativeHandle } from '../../../src/transport/native.js';
import { addressProblems, describeConnection, shortAddress, type SeenAddresses } from '../../../src/selftest/addresses.js';
import { findLoopback } from '../../../src/selftest/loopback.js';
import { formatMs, formatTable, roundMs, verdictOf, type CheckResult, type SelftestReport } from '../../../src/selftest/report.js';
import { connectTimeoutReader, HYPERV_FLAG_READERS } from '../../../src/selftest/socket-options.js';
import { encodeTimeval } from '../../../src/transport/platform.js';

const check = (name: string, ok: boolean, figure: string, error?: string): CheckResult =>
  error === undefined ? { name, ok, figure, ms: 12.5 } : { name, ok, figure, error, ms: 12.5 };

const environment = {
  hvsock: '0.1.0',
  node: 'v20.20.2',
  platform: 'linux' as const,
  arch: 'x64',
  os: { type: 'Linux', release: '6.1.0-40-amd64', version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1' },
};

function report(checks: CheckResult[], unavailable?: string): SelftestReport {
  const verdict = verdictOf(checks, unavailable);
  return unavailable === undefined
    ? { ...environment, verdict, family: 'AF_VSOCK', loopback: 'CID 1 (vsock_loopback)', checks }
    : { ...environment, verdict, family: 'AF_VSOCK', loopback: null, unavailable, checks };
}

describe('selftest verdict and exit code', () => {
  it('passes only when there are checks and every one passed', () => {
    expect(verdictOf([check('a', true, 'x'), check('b', true, 'y')], undefined)).toBe('pass');
    expect(verdictOf([check('a', true, 'x'), check('b', false, 'y', 'boom')], undefined)).toBe('fail');
    expect(verdictOf([], undefined)).toBe('fail');
    expect(verdictOf([], 'no vsock loopback')).toBe('unavailable');
  });

  it('maps to the CLI exit codes: 0 pass, 1 a check failed, 3 unavailable', () => {
    expect(exitCodeOf('pass')).toBe(0);
    expect(exitCodeOf('fail')).toBe(1);
    expect(exitCodeOf('unavailable')).toBe(3);
  });
});

describe('selftest table', () => {
  it('lists each check with its result and figure in aligned columns, then the verdict', () => {
    const text = formatTable(
      report([check('echo round trip', true, 'median 0.21 ms'), check('100 concurrent connections', true, '100 of 100 echoed')]),
    );
    expect(text.split('\n')).toEqual([
      'hvsock 0.1.0 on Node v20.20.2, linux 6.1.0-40-amd64 (x64)',
      'os: #1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1',
      'loopback: AF_VSOCK CID 1 (vsock_loopback)',
      '',
      'check                       result  figure',
      'echo round trip             ok      median 0.21 ms',
      '100 concurrent connections  ok      100 of 100 echoed',
      '',
      'verdict: pass, 2 of 2 checks in 25 ms',
    ]);
  });

  it('marks a failed check and says why below the table', () => {
    const text = formatTable(report([check('echo round trip', true, 'median 0.21 ms'), check('refused connect', false, 'ETIMEDOUT in 2.0 s', 'expected ECONNREFUSED')]));
    expect(text).toMatch(/^refused connect {2}FAILED {2}ETIMEDOUT in 2\.0 s$/m);
    expect(text).toMatch(/^refused connect: expected ECONNREFUSED$/m);
    expect(text).toMatch(/^verdict: FAILED, 1 of 2 checks failed$/m);
  });

  it('when unavailable, says why and that nothing was connected, with no table', () => {
    const text = formatTable(report([], 'no vsock loopback: bind to CID 1 failed with EADDRNOTAVAIL'));
    expect(text).toMatch(/^unavailable: no vsock loopback: bind to CID 1 failed with EADDRNOTAVAIL$/m);
    expect(text).toMatch(/^verdict: unavailable \(exit 3\): nothing was connected$/m);
    expect(text).not.toMatch(/^check/m);
  });

  it('writes durations as people read them, and keeps figures to the microsecond', () => {
    expect([0.4215, 9.999, 35.4, 12_345].map(formatMs)).toEqual(['0.42 ms', '10.00 ms', '35 ms', '12.3 s']);
    expect(roundMs(1.23456789)).toBe(1.235);
  });

  it('shows the Windows build', () => {
    const text = formatTable({
      ...report([check('a', true, 'x')]),
      platform: 'win32',
      os: { type: 'Windows_NT', release: '10.0.20348', version: 'Windows Server 2022 Datacenter', build: 20348 },
    });
    expect(text.split('\n')[0]).toBe('hvsock 0.1.0 on Node v20.20.2, win32 10.0.20348, build 20348 (x64)');
  });
});

const hv = (vmId: string, serviceId: string): HvSocketAddress => ({ family: 'AF_HYPERV', address: vmId, vmId, serviceId });
const vsock = (cid: number, port: number): HvSocketAddress => ({ family: 'AF_VSOCK', address: String(cid), cid, port });

describe('selftest address rules', () => {
  // As go-winio's TestHvSockAddresses records them on GitHub's Windows runners.
  const listenerService = serviceIdFromPort(0x2a3b4c5d);
  const clientService = 'c1a55e7e-0000-4000-8000-0123456789ab';
  const windows: SeenAddresses = {
    listener: hv(HV_GUID_LOOPBACK, listenerService),
    clientLocal: hv(HV_GUID_CHILDREN, clientService),
    clientRemote: hv(HV_GUID_LOOPBACK, listenerService),
    serverLocal: hv(HV_GUID_CHILDREN, listenerService),
    serverRemote: hv(HV_GUID_LOOPBACK, clientService),
  };

  it('accepts Windows loopback addresses as go-winio records them', () => {
    expect(addressProblems('win32', windows)).toEqual([]);
    expect(describeConnection(windows)).toBe(
      `client children:${clientService} → loopback:${0x2a3b4c5d}; server children:${0x2a3b4c5d} ← loopback:${clientService}`,
    );
  });

  it("names a server local address read with getsockname (arbitrary on an accepted Hyper-V socket)", () => {
    const arbitrary = 'c1a55e7f-0000-4000-8000-0123456789ab';
    expect(addressProblems('win32', { ...windows, serverLocal: hv(HV_GUID_CHILDREN, arbitrary) })).toEqual([
      `server local: expected children:${0x2a3b4c5d}, saw children:${arbitrary}`,
    ]);
  });

  it('ties the two ends together: the server remote must be the client local', () => {
    const other = 'dddddddd-0000-4000-8000-0123456789ab';
    expect(addressProblems('win32', { ...windows, serverRemote: hv(HV_GUID_LOOPBACK, other) })).toEqual([
      `client local: expected children:${other}, saw children:${clientService}`,
      `server remote: expected loopback:${clientService}, saw loopback:${other}`,
    ]);
  });

  it('reports an address the OS would not give', () => {
    expect(addressProblems('win32', { ...windows, clientLocal: undefined })).toEqual([
      'client local: unreadable',
      'server remote: expected loopback:?, saw loopback:c1a55e7e-0000-4000-8000-0123456789ab',
    ]);
  });

  // As the project's VM (Debian 6.1, vsock_loopback) reports them: the
  // client's own side reads CID ANY, the CID its connect auto-bound it to.
  const linux: SeenAddresses = {
    listener: vsock(1, 1234567),
    clientLocal: vsock(0xffffffff, 3000000001),
    clientRemote: vsock(1, 1234567),
    serverLocal: vsock(1, 1234567),
    serverRemote: vsock(1, 3000000001),
  };

  it('accepts Linux CID-1 addresses: CID 1 but for the client local (ANY or 1), the ports crossed', () => {
    expect(addressProblems('linux', linux)).toEqual([]);
    expect(addressProblems('linux', { ...linux, clientLocal: vsock(1, 3000000001) })).toEqual([]);
    expect(describeConnection(linux)).toBe('client any:3000000001 → loopback:1234567; server loopback:1234567 ← loopback:3000000001');
  });

  it('names a Linux client local port the server does not see', () => {
    expect(addressProblems('linux', { ...linux, clientLocal: vsock(3, 3000000002) })).toEqual([
      'client local: expected any|loopback:3000000001, saw 3:3000000002',
      'server remote: expected loopback:3000000002, saw loopback:3000000001',
    ]);
  });

  it('names a Linux side on another CID or port', () => {
    expect(addressProblems('linux', { ...linux, serverLocal: vsock(3, 1234567), clientRemote: vsock(1, 7) })).toEqual([
      'client remote: expected loopback:1234567, saw loopback:7',
      'server local: expected loopback:1234567, saw 3:1234567',
    ]);
  });

  it('writes addresses in the CLI short form', () => {
    expect(shortAddress(vsock(2, 5000))).toBe('parent:5000');
    expect(shortAddress(hv(HV_GUID_LOOPBACK, serviceIdFromPort(5000)))).toBe('loopback:5000');
    expect(shortAddress({ vmId: HV_GUID_LOOPBACK, port: 77 })).toBe('loopback:77');
    expect(shortAddress(undefined)).toBe('?');
  });
});

describe('selftest option read-back', () => {
  it('decodes the Linux connect timeout from a 32-bit struct timeval (arm, ia32), as platform.ts writes it', () => {
    const reader = connectTimeoutReader('linux', 4);
    expect([reader.level, reader.name, reader.length]).toEqual([40, 6, 8]);
    expect(reader.decode(encodeTimeval(250, 4))).toBe(250);
    expect(reader.decode(encodeTimeval(2500, 4).subarray(0, 4))).toBeUndefined();
  });

  it('decodes the Linux connect timeout from its struct timeval', () => {
    const reader = connectTimeoutReader('linux', 8);
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(2n, 0);
    tv.writeBigInt64LE(500_000n, 8);
    expect([reader.level, reader.name, reader.length]).toEqual([40, 6, 16]);
    expect(reader.decode(tv)).toBe(2500);
    expect(reader.decode(tv.subarray(0, 8))).toBeUndefined();
  });

  it('decodes Windows options as ULONGs at level HV_PROTOCOL_RAW', () => {
    const reader = connectTimeoutReader('win32');
    expect([reader.level, reader.name, reader.length]).toEqual([1, 1, 4]);
    expect(reader.decode(Buffer.from([0xc4, 0x09, 0, 0]))).toBe(2500);
    expect(reader.decode(Buffer.alloc(0))).toBeUndefined();
    expect(Object.entries(HYPERV_FLAG_READERS).map(([name, r]) => [name, r.level, r.name])).toEqual([
      ['connectedSuspend', 1, 4],
      ['containerPassthru', 1, 2],
      ['highVtl', 1, 8],
    ]);
    // A provider answering a flag with a single byte still reads as the flag.
    expect(HYPERV_FLAG_READERS.highVtl.decode(Buffer.from([1]))).toBe(1);
  });
});

/**
 * A binding that records the calls made on its handles and answers with the
 * given errors: for the decision alone, whether the self-test may connect.
 */
function recordingBinding(answers: { open?: number; bind?: number; probe?: number }) {
  const calls: string[] = [];
  const handle = {
    open: () => (calls.push('open'), answers.open ?? 0),
    bind: () => (calls.push('bind'), answers.bind ?? 0),
    close: () => void calls.push('close'),
    connect: () => {
      calls.push('connect');
      throw new Error('the self-test must not connect while deciding');
    },
  } as unknown as NativeHandle;
  const binding = {
    SocketHandle: function SocketHandle() {
      return handle;
    },
    probe: () => (calls.push('probe'), answers.probe ?? 0),
  } as unknown as NativeBinding;
  return { binding: () => binding, calls };
}

describe('selftest: where it may connect', () => {
  it('Linux: a failed bind to CID 1 means no vsock_loopback, so it is unavailable and never connects', () => {
    const { binding, calls } = recordingBinding({ bind: -99 /* EADDRNOTAVAIL */ });
    const probe = findLoopback({ platform: 'linux', binding });
    expect(probe).toEqual({ family: 'AF_VSOCK', unavailable: expect.stringMatching(/^no vsock loopback: bind to CID 1 failed with EADDRNOTAVAIL.*opens no connection/) });
    expect(calls).toEqual(['open', 'bind', 'close']);
  });

  it('Linux: no AF_VSOCK at all is unavailable too, and says so', () => {
    const { binding, calls } = recordingBinding({ open: -97 /* EAFNOSUPPORT */ });
    expect(findLoopback({ platform: 'linux', binding })).toEqual({ family: 'AF_VSOCK', unavailable: expect.stringMatching(/^socket\(AF_VSOCK\) failed with EAFNOSUPPORT/) });
    expect(calls).toEqual(['open', 'close']);
  });

  it('Linux: with CID 1 bindable it uses CID 1, and only CID 1', () => {
    const { binding } = recordingBinding({});
    const probe = findLoopback({ platform: 'linux', binding });
    if (!('loopback' in probe)) throw new Error(probe.unavailable);
    expect(probe.loopback.listenAddress()).toEqual({ cid: 1, port: 0 });
    expect(probe.loopback.unusedAddress()).toMatchObject({ cid: 1 });
  });

  it('Windows: without a Hyper-V socket provider it is unavailable and names the provider', () => {
    const { binding, calls } = recordingBinding({ probe: -97 });
    expect(findLoopback({ platform: 'win32', binding })).toEqual({
      family: 'AF_HYPERV',
      unavailable: expect.stringMatching(/^no Hyper-V socket provider: socket\(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW\) failed with EAFNOSUPPORT/),
    });
    expect(calls).toEqual(['probe']);
  });

  it('Windows: HV_GUID_LOOPBACK with template services only', () => {
    const { binding } = recordingBinding({});
    const probe = findLoopback({ platform: 'win32', binding });
    if (!('loopback' in probe)) throw new Error(probe.unavailable);
    for (const address of [probe.loopback.listenAddress(), probe.loopback.unusedAddress()]) {
      expect(address).toMatchObject({ vmId: HV_GUID_LOOPBACK });
      expect(address.port).toBeGreaterThanOrEqual(0x10000000);
      expect(address.port).toBeLessThan(0x70000000);
    }
  });

  it('elsewhere, or without a native binary, it is unavailable', () => {
    expect(findLoopback({ platform: undefined, binding: recordingBinding({}).binding })).toEqual({ family: null, unavailable: expect.stringMatching(/^Hyper-V sockets exist on Windows/) });
    const noBinary = () => {
      throw new Error('hvsock has no native binary for linux-riscv64');
    };
    expect(findLoopback({ platform: 'linux', binding: noBinary })).toEqual({ family: 'AF_VSOCK', unavailable: 'hvsock has no native binary for linux-riscv64' });
  });
});

describe('hvsock selftest command line', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  };

  it('has help that says it is loopback only and lists the exit codes', async () => {
    const { io, out } = capture();
    expect(await main(['selftest', '--help'], io)).toBe(0);
    expect(out.join('\n')).toMatch(/^Usage: hvsock selftest \[--json\]/);
    expect(out.join('\n')).toMatch(/own loopback only/);
    expect(out.join('\n')).toMatch(/Exits 0 when every check passes, 1 when one fails, 3 when it cannot run here/);
  });

  it('refuses an argument with exit 2 before any socket is opened', async () => {
    const { io, err } = capture();
    expect(await main(['selftest', 'parent:5000'], io)).toBe(2);
    expect(err.join('\n')).toBe('hvsock selftest: unexpected argument "parent:5000" (see hvsock help selftest)');
  });
});
