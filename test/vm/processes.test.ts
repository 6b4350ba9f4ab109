import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { AF_VSOCK, VMADDR_CID_ANY, VMADDR_PORT_ANY, connect, createServer, encodeSockaddrVm } from '../../src/index.js';
import { loadBinding } from '../../src/transport/native.js';
import { LOOPBACK, readAll } from './helpers.js';

const fixture = (name: string): string => join(__dirname, 'fixtures', name);

/** Runs a fixture; resolves with its exit code, or 'timeout' if it is still alive after `ms`. */
async function runFixture(name: string, ms: number): Promise<number | 'timeout'> {
  const child = spawn(process.execPath, [fixture(name)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  expect(String(line)).toContain('ready');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  return signal === 'SIGKILL' ? 'timeout' : (code as number);
}

describe('processes and threads', () => {
  // These two run side by side (it.concurrent): separate fixture processes,
  // each judged by its own exit, and the control's three seconds of staying
  // alive need not come after the other's start-up.
  it.concurrent('unref() on a server and a connected socket lets the process exit', async () => {
    expect(await runFixture('unref-server.cjs', 15_000)).toBe(0);
  });

  it.concurrent('a referenced server keeps the process alive (control)', async () => {
    expect(await runFixture('ref-server.cjs', 3_000)).toBe('timeout');
  });

  it('works inside worker threads, several at once', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(async (id) => {
        const worker = new Worker(fixture('worker-echo.cjs'), { workerData: { id } });
        const [message] = await once(worker, 'message');
        const [code] = await once(worker, 'exit');
        expect(code).toBe(0);
        return message as { echoed: string };
      }),
    );
    expect(results.map((r) => r.echoed)).toEqual(['from worker 1', 'from worker 2', 'from worker 3']);
  });

  it('terminating a worker with open sockets cleans up without crashing the process', async () => {
    const worker = new Worker(fixture('worker-echo.cjs'), { workerData: { id: 9, leaveOpen: true } });
    const [message] = await once(worker, 'message');
    expect(message.echoed).toBe('from worker 9');
    await new Promise((r) => setTimeout(r, 200));
    await worker.terminate();
    // Its server is gone with it.
    const socket = connect({ cid: LOOPBACK, port: (message as { port: number }).port });
    const [error] = await once(socket, 'error').catch((e: unknown) => [e]);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('running out of descriptors is an accept error on the server, and accepting resumes', async () => {
    const child = spawn('sh', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${fixture('fd-exhaustion.cjs')}"`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    const [code] = await once(child, 'exit');
    const result = JSON.parse(output.trim()) as { ok: boolean; errors: string[]; detail: string };
    expect(result.errors).toContain('accept EMFILE');
    expect(result).toMatchObject({ ok: true });
    expect(code).toBe(0);
  });

  it('listen({ fd }) adopts an inherited listening socket', async () => {
    // Made like a service manager would: socket, bind, listen, then pass as fd 3.
    const handle = new (loadBinding().SocketHandle)();
    expect(handle.open(AF_VSOCK, 0)).toBe(0);
    expect(handle.bind(encodeSockaddrVm(VMADDR_CID_ANY, VMADDR_PORT_ANY))).toBe(0);
    expect(handle.listen(16)).toBe(0);
    const child = spawn(process.execPath, [fixture('adopt-fd.cjs')], {
      stdio: ['ignore', 'pipe', 'inherit', handle.fd],
    });
    try {
      const [line] = await once(child.stdout as NodeJS.ReadableStream & NodeJS.EventEmitter, 'data');
      const text = String(line);
      expect(text).toMatch(/^listening /);
      const address = JSON.parse(text.slice('listening '.length)) as { port: number };
      handle.close();
      const socket = connect({ cid: LOOPBACK, port: address.port });
      expect((await readAll(socket)).toString()).toBe('adopted\n');
    } finally {
      handle.close();
      child.kill();
    }
  });

  it('listen({ fd }) on a descriptor that is not a vsock socket fails with a system error', async () => {
    const server = createServer();
    server.listen({ fd: 0 });
    const [error] = await once(server, 'error').catch((e: unknown) => [e]);
    expect((error as NodeJS.ErrnoException).syscall).toBe('listen');
    expect(server.listening).toBe(false);
  });
});
