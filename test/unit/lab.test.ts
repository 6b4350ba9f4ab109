// The test lab's own promises: one cache root that honours XDG_CACHE_HOME,
// folders created on demand, and a kernel pin the VM harness can act on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ES modules of the harness, without declarations
import { cacheDir, cacheRoot } from '../../scripts/cache-dir.mjs';
// @ts-expect-error: as above
import { readPin } from '../vm/kernel.mjs';

const saved = { HVSOCK_CACHE: process.env.HVSOCK_CACHE, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('cache root', () => {
  it('is $XDG_CACHE_HOME/hvsock, else ~/.cache/hvsock, and HVSOCK_CACHE overrides both', () => {
    delete process.env.HVSOCK_CACHE;
    process.env.XDG_CACHE_HOME = '/somewhere/cache';
    expect(cacheRoot()).toBe('/somewhere/cache/hvsock');
    delete process.env.XDG_CACHE_HOME;
    expect(cacheRoot()).toBe(path.join(os.homedir(), '.cache', 'hvsock'));
    process.env.XDG_CACHE_HOME = '/somewhere/cache';
    process.env.HVSOCK_CACHE = '/elsewhere';
    expect(cacheRoot()).toBe('/elsewhere');
  });

  it('creates a harness folder, parents included, in an empty cache', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-cache-'));
    try {
      delete process.env.HVSOCK_CACHE;
      process.env.XDG_CACHE_HOME = path.join(empty, 'not', 'yet');
      const dir = cacheDir('wine');
      expect(dir).toBe(path.join(empty, 'not', 'yet', 'hvsock', 'wine'));
      expect(fs.statSync(dir).isDirectory()).toBe(true);
      expect(cacheDir('wine')).toBe(dir); // and again, when it exists
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('kernel pin', () => {
  it('names a Debian kernel package, its version and the sha256 of its .deb', () => {
    const pin = readPin();
    expect(pin.package).toMatch(/^linux-image-\d+\.\d+\.\d+-\d+-amd64$/);
    expect(pin.version).toMatch(/^(\d+:)?[0-9][A-Za-z0-9.+~-]*$/);
    expect(pin.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
