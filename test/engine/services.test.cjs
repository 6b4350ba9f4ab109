// Hyper-V service registration through the Win32 registry API in the addon.
// Runs on Windows only: under Wine against Wine's real registry (the process
// is elevated there), and on a Windows runner. Elsewhere the calls must fail
// with a clear ENOSYS, which the last test checks.
'use strict';
const assert = require('node:assert/strict');
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

  // Defined only off Windows, so the Windows runs have nothing skipped.
  if (!onWindows) {
    it('says ENOSYS off Windows', () => {
      assert.throws(() => hvsock.listServices(), { code: 'ENOSYS', message: /Windows host/ });
      assert.throws(() => hvsock.registerService({ name: 'x' }), { code: 'ENOSYS' });
    });
  }
});
