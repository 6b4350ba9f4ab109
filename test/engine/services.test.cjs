// Hyper-V service registration through the Win32 registry API in the addon.
// Runs on Windows only: under Wine against Wine's real registry (the process
// is elevated there), and on a Windows runner. Elsewhere the calls must fail
// with a clear ENOSYS, which the last test checks.
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { describe, it } = require('node:test');
const { hvsock } = require('./helpers.cjs');

const onWindows = process.platform === 'win32';
const NAME = `hvsock test ${process.pid}`;

describe('Hyper-V service registration', () => {
  it('registers, lists, renames and unregisters a service under GuestCommunicationServices', { skip: !onWindows && 'Windows only' }, () => {
    const serviceId = hvsock.registerService({ name: NAME });
    assert.ok(hvsock.isGuid(serviceId));
    try {
      assert.deepEqual(hvsock.listServices().find((s) => s.serviceId === serviceId), { serviceId, name: NAME });
      // Registering again with the same GUID renames it (idempotent).
      assert.equal(hvsock.registerService({ name: `${NAME} renamed ✓`, serviceId: serviceId.toUpperCase() }), serviceId);
      assert.equal(hvsock.listServices().find((s) => s.serviceId === serviceId).name, `${NAME} renamed ✓`);
    } finally {
      hvsock.unregisterService(serviceId);
    }
    assert.equal(hvsock.listServices().some((s) => s.serviceId === serviceId), false);
    assert.throws(() => hvsock.unregisterService(serviceId), { code: 'ENOENT', syscall: 'RegDeleteTreeW', serviceId });
  });

  it('takes a port for its template service GUID', { skip: !onWindows && 'Windows only' }, () => {
    const serviceId = hvsock.registerService({ name: NAME, serviceId: 0x1388 });
    assert.equal(serviceId, '00001388-facb-11e6-bd58-64006a7986d3');
    hvsock.unregisterService(0x1388);
  });

  it('validates its arguments before touching the registry', () => {
    assert.throws(() => hvsock.registerService(), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.throws(() => hvsock.registerService({ name: '' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => hvsock.registerService({ name: 'x', serviceId: 'not-a-guid' }), { code: 'ERR_INVALID_ARG_VALUE' });
    assert.throws(() => hvsock.unregisterService('nope'), { code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('the hvsock command registers, lists and unregisters, with exit codes scripts can rely on', { skip: !onWindows && 'Windows only' }, (t) => {
    const cli = path.join(path.dirname(require.resolve('hvsock')), 'cli', 'main.js');
    const hv = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    let r = hv('service', 'register', '--name', NAME, '--service-id', '0x2000', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { serviceId: '00002000-facb-11e6-bd58-64006a7986d3', name: NAME });
    r = hv('service', 'list', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).some((s) => s.serviceId === '00002000-facb-11e6-bd58-64006a7986d3' && s.name === NAME));
    r = hv('doctor', '--json');
    t.diagnostic(`doctor --json: ${r.stdout.replace(/\s+/g, ' ')}`);
    const report = JSON.parse(r.stdout);
    assert.equal(report.family, 'AF_HYPERV');
    assert.ok(Array.isArray(report.services) && report.services.some((s) => s.name === NAME));
    assert.equal(typeof report.elevated, 'boolean');
    // Exit 0 where Hyper-V sockets work, 3 where they do not (Wine).
    assert.equal(r.status, report.sockets === true ? 0 : 3);
    assert.equal(hv('service', 'unregister', '0x2000').status, 0);
    r = hv('service', 'unregister', '0x2000');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ENOENT/);
    assert.equal(hv('service', 'register').status, 2);
  });

  // Defined only off Windows, so the Windows runs have nothing skipped.
  if (!onWindows) {
    it('says ENOSYS off Windows', () => {
      assert.throws(() => hvsock.listServices(), { code: 'ENOSYS', message: /Windows host/ });
      assert.throws(() => hvsock.registerService({ name: 'x' }), { code: 'ENOSYS' });
    });
  }
});
