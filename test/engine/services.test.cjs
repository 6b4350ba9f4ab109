// Hyper-V service registration through the Win32 registry API in the addon.
// Runs on Windows only: under Wine against Wine's real registry (the process
// is elevated there), and on a Windows runner. Elsewhere the calls must fail
// with a clear ENOSYS, which the last test checks.
//
// On a developer's Hyper-V host these tests write the real registry: they
// only ever register services this run made up (a new GUID, or the template
// GUID of a random port nothing has registered), and delete them in
// `finally`, so no existing registration (the README's echo service on 5000,
// say) is touched.
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { randomInt } = require('node:crypto');
const path = require('node:path');
const { describe, it } = require('node:test');
const { hvsock, host } = require('./helpers.cjs');

const onWindows = process.platform === 'win32';
const NAME = `hvsock test ${process.pid}`;

const registered = (serviceId) => host.listServices().some((s) => s.serviceId === serviceId);

/** A template port (≤ 0x7FFFFFFF) whose service GUID nothing on this host has registered: new each run. */
function scratchPort() {
  for (;;) {
    const port = 0x10000000 + randomInt(0x70000000);
    if (!registered(hvsock.serviceIdFromPort(port))) return port;
  }
}

/** Removes a service this test registered, if it is still there; never anything else. */
function cleanUp(serviceId) {
  if (registered(serviceId)) host.unregisterService(serviceId);
}

describe('Hyper-V service registration', () => {
  it('registers, lists, renames and unregisters a service under GuestCommunicationServices', { skip: !onWindows && 'Windows only' }, () => {
    const serviceId = host.registerService({ name: NAME });
    assert.ok(hvsock.isGuid(serviceId));
    try {
      assert.deepEqual(host.listServices().find((s) => s.serviceId === serviceId), { serviceId, name: NAME });
      // Registering again with the same GUID renames it (idempotent).
      assert.equal(host.registerService({ name: `${NAME} renamed ✓`, serviceId: serviceId.toUpperCase() }), serviceId);
      assert.equal(host.listServices().find((s) => s.serviceId === serviceId).name, `${NAME} renamed ✓`);
    } finally {
      host.unregisterService(serviceId);
    }
    assert.equal(host.listServices().some((s) => s.serviceId === serviceId), false);
    assert.throws(() => host.unregisterService(serviceId), { code: 'ENOENT', syscall: 'RegDeleteTreeW', serviceId });
  });

  it('takes a port for its template service GUID', { skip: !onWindows && 'Windows only' }, () => {
    const port = scratchPort();
    const expected = `${port.toString(16).padStart(8, '0')}-facb-11e6-bd58-64006a7986d3`;
    try {
      assert.equal(host.registerService({ name: NAME, serviceId: port }), expected);
      assert.deepEqual(host.listServices().find((s) => s.serviceId === expected), { serviceId: expected, name: NAME });
      host.unregisterService(port);
      assert.equal(registered(expected), false);
    } finally {
      cleanUp(expected);
    }
  });

  it('validates its arguments before touching the registry', () => {
    assert.throws(() => host.registerService(), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => host.registerService({ name: '' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => host.registerService({ name: 'x', serviceId: 'not-a-guid' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => host.unregisterService('nope'), { code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('the hvsock command registers, lists and unregisters, with exit codes scripts can rely on', { skip: !onWindows && 'Windows only' }, (t) => {
    const cli = path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');
    const hv = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    const port = scratchPort();
    const hex = `0x${port.toString(16)}`;
    const serviceId = hvsock.serviceIdFromPort(port);
    try {
      let r = hv('service', 'register', '--name', NAME, '--service-id', hex, '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { serviceId, name: NAME });
      r = hv('service', 'list', '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.ok(JSON.parse(r.stdout).some((s) => s.serviceId === serviceId && s.name === NAME));
      r = hv('doctor', '--json');
      t.diagnostic(`doctor --json: ${r.stdout.replace(/\s+/g, ' ')}`);
      const report = JSON.parse(r.stdout);
      assert.equal(report.family, 'AF_HYPERV');
      assert.ok(Array.isArray(report.services) && report.services.some((s) => s.name === NAME));
      assert.equal(typeof report.elevated, 'boolean');
      // Exit 0 where Hyper-V sockets work, 3 where they do not (Wine).
      assert.equal(r.status, report.sockets === true ? 0 : 3);
      assert.equal(hv('service', 'unregister', hex).status, 0);
      assert.equal(registered(serviceId), false);
      r = hv('service', 'unregister', hex);
      assert.equal(r.status, 1);
      // In the CLI's words: which service, and that it is not there; one line.
      assert.equal(r.stderr, `hvsock service unregister: no service port ${port} is registered\n`);
      assert.equal(hv('service', 'register').status, 2);
    } finally {
      cleanUp(serviceId);
    }
  });

  // Defined only off Windows, so the Windows runs have nothing skipped.
  if (!onWindows) {
    it('says ENOSYS off Windows', () => {
      assert.throws(() => host.listServices(), { code: 'ENOSYS', message: /Windows host/ });
      assert.throws(() => host.registerService({ name: 'x' }), { code: 'ENOSYS' });
    });
  }
});
