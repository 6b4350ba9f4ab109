// A connect that nobody answers, under the test's control (no kernel quirk):
// the vhost-vsock host transport, loaded for the duration, with a guest CID
// registered whose device never runs (fixtures/silent-peer.py). init.sh leaves
// the modules in /run/hvsock/modules; they come out again when the peer stops,
// because with a host transport loaded the local-CID ioctl answers 2 instead
// of 1. A test file asks for one with useSilentPeer(cid).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect } from 'vitest';
import { localCid } from '../../src/index.js';
import { insmod, loaded, rmmod } from './modules.js';

const MODULES = ['vhost_iotlb', 'vhost', 'vhost_vsock'];
const FIXTURE = path.join(__dirname, 'fixtures', 'silent-peer.py');
/**
 * The system's Python where there is one: the fixture needs only the standard
 * library, and `python3` on PATH (the guest gets this machine's PATH) can be a
 * version manager's shim, such as pyenv's, a bash script that runs several
 * more before Python starts: seconds on the emulated CPU, and more under the
 * sanitizers, whose runtime every one of those processes loads.
 */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface SilentPeer {
  stop(): Promise<void>;
}

async function startSilentPeer(cid: number): Promise<SilentPeer> {
  for (const m of MODULES) if (!loaded(m)) insmod(m);
  const child = spawn(PYTHON, [FIXTURE, String(cid)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([once(lines, 'line'), exited.then(([code]) => [`exit ${code}`])])) as [string];
  if (first !== 'ready') throw new Error(`silent peer did not start: ${first}`);
  return {
    async stop() {
      child.stdin!.end();
      await exited;
      for (const m of [...MODULES].reverse()) await rmmod(m);
    },
  };
}

/**
 * A silent peer at `cid` for the tests of the enclosing describe block (or
 * file): started before the first, stopped after the last. Stopping unloads
 * the host transport again, and the check after it holds every later file to
 * the guest as it booted: loopback only, local CID 1.
 */
export function useSilentPeer(cid: number): void {
  let peer: SilentPeer | undefined;
  beforeAll(async () => {
    peer = await startSilentPeer(cid);
  });
  afterAll(async () => {
    await peer?.stop();
    expect(localCid()).toBe(1);
  });
}
