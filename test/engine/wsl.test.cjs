// listen({ wsl: true }): a server that binds WSL 2's VM and binds the new one
// by itself when WSL restarts. What a real WSL restart does can only be seen
// on Windows with WSL; here the same Server code is driven over loopback TCP
// (internal transport) with a VM ID source the test changes, so each "VM"
// is a fresh listening socket on a port the kernel picks: a client reaches
// the server before and after the change, the old address is gone, and the
// events carry the IDs. The lookup itself (getWslVmId) runs for real where
// it is safe: on Linux it refuses without running anything, under Wine every
// source fails for a reason of its own (no wsl.exe or hcsdiag.exe at their
// full paths in system32, no computecore.dll, no registry key).
'use strict';
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const { afterEach, describe, it } = require('node:test');
const { hvsock, host, transport, newServer, connect, readAll, closeAll, event, until, uvErrno } = require('./helpers.cjs');

const { kWslFollow } = require(path.join(path.dirname(require.resolve('hvsock')), 'net', 'wsl-listener.js'));

const T = { timeout: 120_000 };
// The rebinding runs over TCP only: over real AF_HYPERV the test's made-up VM IDs name no VM.
const overTcp = { ...T, skip: transport !== 'tcp' && 'over TCP only: real WSL VM IDs need Windows with WSL' };
const underWine = process.platform === 'win32' && process.env.HVSOCK_EXPECT_NO_HYPERV === '1';

const A = '5c0a7e2b-3f1d-4e8a-9b6c-1d2e3f405162';
const B = 'de1517ec-bf1d-5a0b-b459-77a48cb1ad97';
const C = '0b7c3e51-6a2f-4d8e-8f10-2b3c4d5e6f70';

function notFound() {
  return Object.assign(new Error('no running WSL 2 VM was found (test source)'), { code: host.ERR_WSL_VM_NOT_FOUND, attempts: [] });
}

/** A VM ID source the test sets: a GUID, or null for "WSL is down". Counts the questions. */
function controllableSource(initial) {
  const state = { vmId: initial, asked: 0 };
  state.source = async () => {
    state.asked++;
    if (state.vmId === null) throw notFound();
    return state.vmId;
  };
  return state;
}

/** A WSL-following echo server over the suite's transport. */
function wslServer(state) {
  const server = newServer({}, (socket) => socket.pipe(socket));
  server.listen({ wsl: true, port: 0, [kWslFollow]: { source: state.source, intervalMs: 20 } });
  return server;
}

async function echoes(port, text) {
  const client = connect(port);
  await once(client, 'connect');
  client.end(text);
  return (await readAll(client)).toString();
}

describe('a server that follows WSL (listen({ wsl: true }))', () => {
  afterEach(closeAll);

  it("binds the VM, and after a restart (new ID) binds the new one: clients reach both, 'wslrestart' names both IDs", overTcp, async () => {
    const state = controllableSource(A);
    const server = wslServer(state);
    await event(server, 'listening');
    assert.equal(server.listening, true);
    const before = server.address().port;
    assert.equal(await echoes(before, 'before'), 'before');
    // A connection made before the restart (over Hyper-V it would die with the old VM).
    const early = connect(before);
    await once(early, 'connect');

    state.vmId = B.toUpperCase();
    const restart = await event(server, 'wslrestart');
    assert.deepEqual(restart, { previousVmId: A, vmId: B });
    const after = server.address().port;
    assert.notEqual(after, before, 'the new VM is a new listener');
    assert.equal(await echoes(after, 'after'), 'after');
    // The old VM's listener is closed: nothing answers there now.
    const stale = connect(before);
    const error = await event(stale, 'error');
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.errno, uvErrno('ECONNREFUSED'));
    early.destroy();
  });

  it("reports WSL going down once ('wsldown') and stays listening, then follows it to its next VM", overTcp, async () => {
    const state = controllableSource(A);
    const server = wslServer(state);
    await event(server, 'listening');
    let downs = 0;
    server.on('wsldown', () => downs++);
    state.vmId = null;
    const down = await event(server, 'wsldown');
    assert.equal(down.code, 'ERR_WSL_VM_NOT_FOUND');
    const askedWhenDown = state.asked;
    await until(() => state.asked >= askedWhenDown + 5, 'five more checks while down');
    assert.equal(downs, 1, 'one event per down spell, not per check');
    assert.equal(server.listening, true);
    state.vmId = C;
    assert.deepEqual(await event(server, 'wslrestart'), { previousVmId: A, vmId: C });
    assert.equal(await echoes(server.address().port, 'back'), 'back');
  });

  it("started while WSL is down: 'wsldown', not listening, no crash; listens (and calls back) once WSL is there", overTcp, async () => {
    const state = controllableSource(null);
    const server = newServer({}, (socket) => socket.pipe(socket));
    let calledBack = false;
    server.listen({ wsl: true, port: 0, [kWslFollow]: { source: state.source, intervalMs: 20 } }, () => (calledBack = true));
    const down = await event(server, 'wsldown');
    assert.equal(down.code, 'ERR_WSL_VM_NOT_FOUND');
    assert.equal(server.listening, false);
    assert.equal(server.address(), null);
    assert.throws(() => server.listen({ port: 0 }), { code: 'ERR_SERVER_ALREADY_LISTEN' });
    state.vmId = A;
    await event(server, 'listening');
    assert.equal(calledBack, true);
    assert.equal(await echoes(server.address().port, 'hello'), 'hello');
  });

  it('close() while waiting stops the checks and closes; close() when bound closes the listener', overTcp, async () => {
    const state = controllableSource(null);
    const server = wslServer(state);
    await event(server, 'wsldown');
    const closed = event(server, 'close');
    server.close((error) => assert.equal(error, undefined));
    await closed;
    const asked = state.asked;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(state.asked, asked, 'no check after close()');

    const bound = controllableSource(A);
    const second = wslServer(bound);
    await event(second, 'listening');
    const port = second.address().port;
    second.close();
    await event(second, 'close');
    assert.equal(second.listening, false);
    assert.equal((await event(connect(port), 'error')).code, 'ECONNREFUSED');
  });

  it("a bind that fails ends the server as a failed listen does: 'error' (the bind's), then 'close'", overTcp, async () => {
    const squatter = newServer();
    squatter.listen({ port: 0 });
    await event(squatter, 'listening');
    const taken = squatter.address().port;
    const state = controllableSource(A);
    const server = newServer();
    const order = [];
    server.on('error', () => order.push('error')).on('close', () => order.push('close'));
    server.listen({ wsl: true, port: taken, [kWslFollow]: { source: state.source, intervalMs: 20 } });
    const error = await event(server, 'error');
    assert.equal(error.code, 'EADDRINUSE');
    assert.equal(error.syscall, 'listen');
    await until(() => order.length === 2, "'close' after the error");
    assert.deepEqual(order, ['error', 'close']);
    const asked = state.asked;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(state.asked, asked, 'no check after the server ended');
  });

  it('checks its arguments before anything runs', overTcp, () => {
    const server = newServer();
    assert.throws(() => server.listen({ wsl: 'yes', port: 1 }), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => server.listen({ wsl: true, vmId: A, port: 1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /cannot be given with wsl: true/ });
    assert.throws(() => server.listen({ wsl: true, port: 70000 }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.equal(server.listening, false);
  });

  describe('what keeps the process alive (a child process each)', () => {
    function run(mode) {
      const proc = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'wsl-child.cjs'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (chunk) => (out += chunk));
      return once(proc, 'exit').then(([code]) => ({ code, out }));
    }

    it('a ref()ed server waiting for WSL keeps its process alive until it listens', overTcp, async () => {
      assert.deepEqual(await run('waiting-ref'), { code: 0, out: 'listened\n' });
    });

    it('an unref()ed server waiting for WSL lets its process exit', overTcp, async () => {
      assert.deepEqual(await run('waiting-unref'), { code: 0, out: '' });
    });

    it("a listening server unref()ed: the check timer does not hold the process", overTcp, async () => {
      assert.deepEqual(await run('bound-unref'), { code: 0, out: 'listened\n' });
    });
  });
});

describe('the real WSL VM ID lookup on this machine', () => {
  if (process.platform === 'linux') {
    it('Linux outside WSL: the typed error, nothing run; listen({ wsl }) refuses saying parent:/any:', async () => {
      const error = await host.getWslVmId().then(() => assert.fail('found a WSL VM on a machine that is not WSL'), (e) => e);
      assert.equal(error.code, 'ERR_WSL_VM_NOT_FOUND');
      assert.deepEqual(error.attempts.map((a) => a.source), ['platform']);
      assert.throws(() => new hvsock.Server().listen({ wsl: true, port: 5000 }), {
        code: 'ERR_INVALID_ARG_VALUE',
        message: /parent:<port> \(CID 2\).*any:<port>/,
      });
    });
  }

  if (underWine) {
    const REASONS = [
      // Looked for by full path in Wine's C:\windows\system32 (planted-programs.test.cjs: never by bare name).
      ['wsl.exe', /not found at [A-Z]:\\windows\\system32\\wsl\.exe/i],
      ['hcs', /computecore\.dll could not be loaded/],
      ['registry', /VolatileStore\\ComputeSystem does not exist/],
      ['hcsdiag', /not found at [A-Z]:\\windows\\system32\\hcsdiag\.exe/i],
    ];

    it('under Wine every source fails for its own recorded reason, in order', T, async () => {
      const error = await host.getWslVmId().then(() => assert.fail('Wine has no WSL'), (e) => e);
      assert.equal(error.code, 'ERR_WSL_VM_NOT_FOUND');
      assert.deepEqual(error.attempts.map((a) => a.source), REASONS.map(([source]) => source));
      for (const [i, [, reason]] of REASONS.entries()) assert.match(error.attempts[i].reason, reason);
    });

    it("under Wine a real listen({ wsl: true }) waits ('wsldown' with those reasons) instead of failing", T, async () => {
      const server = new hvsock.Server();
      server.listen({ wsl: true, port: 5000 });
      const down = await event(server, 'wsldown');
      assert.equal(down.code, 'ERR_WSL_VM_NOT_FOUND');
      assert.equal(down.attempts.length, 4);
      assert.equal(server.listening, false);
      server.close();
      await event(server, 'close');
    });

    it('under Wine `hvsock wsl id --json` exits 3 with the four attempts', T, () => {
      const cli = path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');
      const r = spawnSync(process.execPath, [cli, 'wsl', 'id', '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 3, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.vmId, null);
      assert.deepEqual(report.attempts.map((a) => a.source), REASONS.map(([source]) => source));
    });
  } else if (process.platform === 'win32') {
    // A real Windows (the GitHub runner): WSL may or may not be there; either answer is typed.
    it('on Windows the lookup answers a GUID or the typed error with all four sources', T, async () => {
      const outcome = await host.lookupWslVmId().then((found) => found, (e) => e);
      if (outcome instanceof Error) {
        assert.equal(outcome.code, 'ERR_WSL_VM_NOT_FOUND');
        assert.deepEqual(outcome.attempts.map((a) => a.source), ['wsl.exe', 'hcs', 'registry', 'hcsdiag']);
      } else {
        assert.ok(hvsock.isGuid(outcome.vmId));
      }
    });
  }
});
