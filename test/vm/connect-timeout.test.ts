// connectTimeout against a peer that never answers. The silence comes from a
// mechanism the test owns (silent-peer.ts: a vhost-vsock CID whose device never
// runs), not from how a kernel version treats some port: an earlier version of
// this test relied on the kernel dropping requests to a port held by a
// connected socket, and a Debian security update turned that into a reset.
import { describe, expect, it } from 'vitest';
import { AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, connect } from '../../src/index.js';
import { loadBinding } from '../../src/transport/native.js';
import { applySocketOptions, platformFor } from '../../src/transport/platform.js';
import { nextError } from './helpers.js';
import { useSilentPeer } from './silent-peer.js';

const SILENT_CID = 4242;
const PORT = 5000;
/** Linux's own connect timeout when none is set (VSOCK_DEFAULT_CONNECT_TIMEOUT, 2 s). */
const KERNEL_DEFAULT_MS = 2000;
/** Timers may fire a tick early relative to Date.now(); lower bounds allow for that. */
const SLACK_MS = 50;

useSilentPeer(SILENT_CID);

async function timedConnect(options: { connectTimeout?: number }) {
  const started = Date.now();
  const socket = connect({ cid: SILENT_CID, port: PORT, ...options });
  let connected = false;
  socket.on('connect', () => (connected = true));
  const closed = new Promise<boolean>((resolve) => socket.once('close', resolve));
  const error = await nextError(socket);
  return { error, elapsed: Date.now() - started, hadError: await closed, connected };
}

describe('connectTimeout (a peer that never answers)', () => {
  // The three timed connects below each wait out a timeout (0.5, 3.5 and
  // 2 s) on a socket of their own, timed from their own start: they wait
  // side by side (it.concurrent), not one after another.
  it.concurrent('expires as ETIMEDOUT with node:net fields', async ({ expect }) => {
    const { error, elapsed, hadError, connected } = await timedConnect({ connectTimeout: 500 });
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.errno).toBe(-110);
    expect(error.syscall).toBe('connect');
    expect(error).toMatchObject({ cid: SILENT_CID, port: PORT });
    expect(error.message).toBe(`connect ETIMEDOUT ${SILENT_CID}:${PORT}`);
    expect(elapsed).toBeGreaterThanOrEqual(500 - SLACK_MS);
    expect(hadError).toBe(true);
    expect(connected).toBe(false);
  });

  it.concurrent('a timeout longer than the kernel default is honoured: the option, not the default, ends the wait', async ({ expect }) => {
    // Were the option ignored, the kernel's 2 s would end this connect first.
    const { error, elapsed } = await timedConnect({ connectTimeout: 3500 });
    expect(error.code).toBe('ETIMEDOUT');
    expect(elapsed).toBeGreaterThanOrEqual(3500 - SLACK_MS);
  });

  it.concurrent('without the option, the kernel default applies and also ends in ETIMEDOUT', async ({ expect }) => {
    const { error, elapsed } = await timedConnect({});
    expect(error.code).toBe('ETIMEDOUT');
    expect(elapsed).toBeGreaterThanOrEqual(KERNEL_DEFAULT_MS - SLACK_MS);
  });

  it('destroy() while the connect is pending closes quietly', async () => {
    // Long enough to be pending at destroy(), short enough that the kernel's
    // connect work (which holds the socket, and so the vhost module, until it
    // runs) is done before the silent peer stops and unloads the module.
    const socket = connect({ cid: SILENT_CID, port: PORT, connectTimeout: 2500 });
    const events: string[] = [];
    for (const name of ['connect', 'error', 'close']) socket.on(name, () => events.push(name));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(socket.connecting).toBe(true);
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(events).toEqual(['close']);
  });

  it('the value reaches the kernel as the timeval the option means (read back)', () => {
    const handle = new (loadBinding().SocketHandle)();
    try {
      expect(handle.open(AF_VSOCK, 0)).toBe(0);
      // The kernel keeps the timeout in jiffies: 1200 ms is a whole number of
      // them at every HZ Debian builds with (100, 250, 300, 1000).
      expect(applySocketOptions(handle, platformFor('linux').socketOptions({ connectTimeout: 1200 }))).toBe(0);
      const value = handle.getsockopt(AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, 16);
      expect(Buffer.isBuffer(value)).toBe(true);
      const tv = value as Buffer;
      expect([tv.readBigInt64LE(0), tv.readBigInt64LE(8)]).toEqual([1n, 200_000n]);
    } finally {
      handle.close();
    }
  });
});
