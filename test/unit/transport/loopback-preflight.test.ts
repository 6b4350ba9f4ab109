// The Linux connect preflight: a connect to CID 1 where the kernel has no
// vsock loopback fails before any socket() or connect(), with a Node-shaped
// error. The kernel's answer is injected; nothing here opens a vsock socket.
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { HV_GUID_LOOPBACK, parseAddress, serviceIdFromPort } from '../../../src/index.js';
import { Socket } from '../../../src/net/socket.js';
import { kTransport } from '../../../src/net/options.js';
import { checkLoopbackTarget, linuxPlatform, uvErrno, type SocketPlatform } from '../../../src/transport/platform.js';
import type { VsockLoopbackProbe } from '../../../src/transport/vsock-loopback.js';

const NO_LOOPBACK: VsockLoopbackProbe = { available: false, syscall: 'bind', errno: uvErrno('EADDRNOTAVAIL') };

/** A probe that counts how often it is asked. */
function probeAnswering(answer: VsockLoopbackProbe | Error) {
  const probe = Object.assign(
    () => {
      probe.calls++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    { calls: 0 },
  );
  return probe;
}

/**
 * Linux, with the injected probe, and a family no kernel has: should the
 * preflight let an attempt through, its socket() fails with a 'socket' error
 * instead of anything reaching a real vsock (this machine's CID 1 goes to its host).
 */
function guardedLinux(probe: () => VsockLoopbackProbe): SocketPlatform {
  return { ...linuxPlatform(probe), family: 0x7fff };
}

const SPELLINGS: Array<[string, unknown]> = [
  ['loopback:<port>', 'loopback:5000'],
  ['1:<port>', '1:5000'],
  ['{ cid: 1 }', { cid: 1, port: 5000 }],
  ['{ host: "loopback" }', { host: 'loopback', port: 5000 }],
  ['{ vmId: HV_GUID_LOOPBACK }', { vmId: HV_GUID_LOOPBACK, port: 5000 }],
  ['{ vmId: HV_GUID_LOOPBACK, serviceId }', { vmId: HV_GUID_LOOPBACK, serviceId: serviceIdFromPort(5000) }],
  ['{ port } (loopback is the default machine)', { port: 5000 }],
];

describe('connect preflight: CID 1 without vsock loopback (Linux)', () => {
  const linux = linuxPlatform(() => NO_LOOPBACK);

  it.each(SPELLINGS)('refuses %s with EADDRNOTAVAIL, the address fields and how to get loopback', (_name, input) => {
    const target = linux.resolve(typeof input === 'string' ? parseAddress(input) : input, 'connect');
    const error = linux.checkTarget?.(target.address);
    expect(error).toMatchObject({
      code: 'EADDRNOTAVAIL',
      errno: uvErrno('EADDRNOTAVAIL'),
      syscall: 'connect',
      address: 'loopback',
      cid: 1,
      port: 5000,
      serviceId: serviceIdFromPort(5000),
    });
    expect(error?.message).toMatch(/^connect EADDRNOTAVAIL loopback:5000: this kernel has no vsock loopback \(binding CID 1 fails with EADDRNOTAVAIL/);
    expect(error?.message).toContain('modprobe vsock_loopback (Linux 5.6 or later)');
    expect(error?.message).toContain("would go to this machine's hypervisor host, so none was made");
  });

  it('lets CID 1 through where loopback exists, and never asks for another CID', () => {
    const present = probeAnswering({ available: true });
    expect(checkLoopbackTarget(linux.resolve(parseAddress('loopback:5000'), 'connect').address, present)).toBeNull();
    expect(present.calls).toBe(1);
    const absent = probeAnswering(NO_LOOPBACK);
    for (const other of ['parent:5000', '2:5000', '3:5000']) {
      expect(checkLoopbackTarget(linux.resolve(parseAddress(other), 'connect').address, absent)).toBeNull();
    }
    expect(absent.calls).toBe(0);
  });

  it('leaves a kernel without vsock (socket() fails) or without the native binary to the attempt itself', () => {
    const target = linux.resolve(parseAddress('loopback:5000'), 'connect').address;
    expect(checkLoopbackTarget(target, probeAnswering({ available: false, syscall: 'socket', errno: uvErrno('EAFNOSUPPORT') }))).toBeNull();
    expect(checkLoopbackTarget(target, probeAnswering(new Error('hvsock has no native binary')))).toBeNull();
  });

  it('Windows has a real HV_GUID_LOOPBACK: no preflight there', async () => {
    const { platformFor } = await import('../../../src/transport/platform.js');
    expect(platformFor('win32').checkTarget).toBeUndefined();
  });
});

describe('connect preflight through Socket', () => {
  it.each(SPELLINGS)('%s: an asynchronous error event, no socket opened', async (_name, input) => {
    const probe = probeAnswering(NO_LOOPBACK);
    const socket = new Socket({ [kTransport]: guardedLinux(probe) } as object);
    let error: NodeJS.ErrnoException | undefined;
    socket.on('error', (e) => (error = e));
    socket.connect(input as never);
    expect(error).toBeUndefined(); // not inside connect(): on a later tick, as node:net's connect errors
    expect(socket.connecting).toBe(true);
    await new Promise((resolve) => socket.on('close', resolve));
    expect(error).toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'connect', address: 'loopback', cid: 1, port: 5000 });
    expect(probe.calls).toBe(1);
    expect(socket.connecting).toBe(false);
  });

  it('redial does not retry it: one attempt, no redial event', async () => {
    const probe = probeAnswering(NO_LOOPBACK);
    const socket = new Socket({ [kTransport]: guardedLinux(probe) } as object);
    const redials: unknown[] = [];
    socket.on('redial', (event) => redials.push(event));
    const started = performance.now();
    socket.connect({ cid: 1, port: 5000, redial: { timeout: 60_000 } });
    const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException & { attempts?: number }];
    expect(error).toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'connect', attempts: 1 });
    expect(redials).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a target other than CID 1 goes on to the attempt (whose socket() here fails by design)', async () => {
    const probe = probeAnswering(NO_LOOPBACK);
    const socket = new Socket({ [kTransport]: guardedLinux(probe) } as object);
    socket.connect('parent:5000');
    const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    expect(error.syscall).toBe('socket');
    expect(probe.calls).toBe(0);
  });
});
