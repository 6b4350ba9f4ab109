import { afterEach, describe, expect, it, vi } from 'vitest';
import { allowListText, parseAllowList, PeerFilter } from '../../../src/forward/peers.js';
import { CachedLookups, type Lookups } from '../../../src/forward/lookups.js';
import { HV_GUID_LOOPBACK, HV_GUID_PARENT } from '../../../src/address/constants.js';

const VM_A = '11111111-2222-3333-4444-555555555555';
const VM_B = '66666666-7777-8888-9999-aaaaaaaaaaaa';

/** Lookups that answer from a table, counting the questions; a missing name rejects as getVmId does. */
function lookups(vms: Record<string, string>, wsl: string | Error = new Error('WSL is not running')) {
  const asked: string[] = [];
  const source: Lookups = {
    vmId: async (name) => {
      asked.push(`vm:${name}`);
      const id = vms[name];
      if (id === undefined) throw new Error(`no VM named ${name}`);
      return id;
    },
    wslVmId: async () => {
      asked.push('wsl');
      if (wsl instanceof Error) throw wsl;
      return wsl;
    },
  };
  return { source, asked };
}

describe('forward allowlist: parsing', () => {
  it('any, CIDs and names on Linux; "any" anywhere in the list lets every peer in', () => {
    expect(parseAllowList('any', 'allow', 'linux')).toEqual([{ kind: 'any' }]);
    expect(parseAllowList(['3', 'parent', 'ANY'], 'allow', 'linux')).toEqual([{ kind: 'any' }]);
    expect(parseAllowList(' 3, 0x4 ,host,loopback', 'allow', 'linux')).toEqual([
      { kind: 'cid', cid: 3, text: '3' },
      { kind: 'cid', cid: 4, text: '0x4' },
      { kind: 'cid', cid: 2, text: 'parent' },
      { kind: 'cid', cid: 1, text: 'loopback' },
    ]);
  });

  it('VM GUIDs, parent, loopback, wsl and vm:NAME on Windows', () => {
    expect(parseAllowList([VM_A.toUpperCase(), 'parent', 'loopback', 'wsl', 'vm:My VM'], 'allow', 'win32')).toEqual([
      { kind: 'vmId', vmId: VM_A, text: VM_A },
      { kind: 'vmId', vmId: HV_GUID_PARENT, text: 'parent' },
      { kind: 'vmId', vmId: HV_GUID_LOOPBACK, text: 'loopback' },
      { kind: 'wsl' },
      { kind: 'vm', name: 'My VM' },
    ]);
  });

  it('what only the other OS has is refused, saying what to write', () => {
    const cases: Array<[string, 'linux' | 'win32', RegExp]> = [
      ['wsl', 'linux', /is WSL 2's VM, which only its Windows host sees as a peer: inside WSL the host is parent/],
      ['vm:MyVM', 'linux', /names a Hyper-V VM, which only a Windows host can look up: on Linux write its CID/],
      [VM_A, 'linux', /is a VM GUID, which Linux peers do not have: write the peer's CID/],
      ['3', 'win32', /is a CID, which Windows peers do not have: write the VM's GUID or vm:NAME/],
    ];
    for (const [entry, platform, why] of cases) {
      expect(() => parseAllowList(entry, 'allow', platform), `${entry} on ${platform}`).toThrow(why);
    }
    // Without a platform, the form alone is checked.
    expect(parseAllowList(['3', VM_A, 'wsl', 'vm:x'], 'allow', undefined)).toHaveLength(4);
  });

  it('errors name the field, the entry\'s index in an array, and the forms', () => {
    expect(() => parseAllowList('3,nope', 'rule.allow', 'linux')).toThrow(
      "The property 'rule.allow' is not a peer: write any, a CID, a VM GUID, parent, loopback, wsl or vm:NAME. Received 'nope'",
    );
    expect(() => parseAllowList(['3', 'nope'], 'allow', 'linux')).toThrow(/^The argument 'allow\[1\]' is not a peer/);
    expect(() => parseAllowList(['3', 4], 'allow', 'linux')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/"allow\[1\]"/) }));
    expect(() => parseAllowList(5, 'allow', 'linux')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => parseAllowList([], 'allow', 'linux')).toThrow(/is empty: name the peers to let in/);
    expect(() => parseAllowList('3,,4', 'allow', 'linux')).toThrow(/is not a peer.*Received ''/);
    expect(() => parseAllowList('vm:', 'allow', 'win32')).toThrow(/must be vm:NAME, a Hyper-V VM's name/);
  });

  it('allowListText reads the list back as written', () => {
    expect(allowListText(parseAllowList('any', 'a', 'linux'))).toBe('any');
    expect(allowListText(parseAllowList('0x3, parent', 'a', 'linux'))).toBe('0x3, parent');
    expect(allowListText(parseAllowList(['vm:MyVM', 'wsl', 'parent', VM_B], 'a', 'win32'))).toBe(`vm:MyVM, wsl, parent, ${VM_B}`);
  });
});

describe('forward allowlist: PeerFilter', () => {
  it('any lets everyone in, an unknown peer too; an empty match is a refusal', async () => {
    const { source, asked } = lookups({});
    const any = new PeerFilter(parseAllowList('any', 'a', 'linux'), source);
    expect(any.allowsAny).toBe(true);
    expect(await any.allows(undefined)).toBe(true);
    expect(await any.allows({ cid: 99 })).toBe(true);
    const some = new PeerFilter(parseAllowList('3', 'a', 'linux'), source);
    expect(some.allowsAny).toBe(false);
    expect(await some.allows(undefined)).toBe(false);
    expect(asked).toEqual([]);
  });

  it('CIDs compare as numbers, GUIDs in any case, with no lookup', async () => {
    const { source, asked } = lookups({});
    const linux = new PeerFilter(parseAllowList('3, parent', 'a', 'linux'), source);
    expect(await linux.allows({ cid: 3, port: 1234 })).toBe(true);
    expect(await linux.allows({ cid: 2 })).toBe(true);
    expect(await linux.allows({ cid: 4 })).toBe(false);
    const windows = new PeerFilter(parseAllowList([VM_A, 'parent'], 'a', 'win32'), source);
    expect(await windows.allows({ vmId: VM_A.toUpperCase() })).toBe(true);
    expect(await windows.allows({ vmId: `{${VM_A}}` })).toBe(true);
    expect(await windows.allows({ vmId: HV_GUID_PARENT })).toBe(true);
    expect(await windows.allows({ vmId: VM_B })).toBe(false);
    expect(asked).toEqual([]);
  });

  it('vm:NAME and wsl are looked up (only when no ID matched), and a failed lookup matches nothing', async () => {
    const { source, asked } = lookups({ Web: VM_A.toUpperCase() }, VM_B);
    const filter = new PeerFilter(parseAllowList(['parent', 'vm:Web', 'vm:Gone', 'wsl'], 'a', 'win32'), source);
    expect(await filter.allows({ vmId: HV_GUID_PARENT })).toBe(true);
    expect(asked).toEqual([]);
    expect(await filter.allows({ vmId: VM_A })).toBe(true);
    expect(asked).toEqual(['vm:Web']);
    expect(await filter.allows({ vmId: VM_B })).toBe(true);
    expect(asked).toEqual(['vm:Web', 'vm:Web', 'vm:Gone', 'wsl']);
    expect(await filter.allows({ vmId: '00000000-0000-0000-0000-000000000001' })).toBe(false);
    // A peer with no VM ID (a CID) is never looked up against names.
    expect(await filter.allows({ cid: 3 })).toBe(false);
    const noWsl = new PeerFilter(parseAllowList('wsl', 'a', 'win32'), lookups({}).source);
    expect(await noWsl.allows({ vmId: VM_B })).toBe(false);
  });
});

describe('forward lookups: CachedLookups', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** performance.now() under the test's control. */
  function clock() {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    return { advance: (ms: number) => (now += ms) };
  }

  it('an answer stands for 30 s; concurrent questions share one lookup', async () => {
    const time = clock();
    const { source, asked } = lookups({ Web: VM_A });
    const cached = new CachedLookups(source);
    const [a, b] = await Promise.all([cached.vmId('Web'), cached.vmId('Web')]);
    expect([a, b]).toEqual([VM_A, VM_A]);
    expect(asked).toEqual(['vm:Web']);
    time.advance(29_999);
    expect(await cached.vmId('Web')).toBe(VM_A);
    expect(asked).toEqual(['vm:Web']);
    time.advance(1);
    expect(await cached.vmId('Web')).toBe(VM_A);
    expect(asked).toEqual(['vm:Web', 'vm:Web']);
  });

  it('a failure is asked again after 5 s, not 30', async () => {
    const time = clock();
    const vms: Record<string, string> = {};
    const { source, asked } = lookups(vms);
    const cached = new CachedLookups(source);
    await expect(cached.vmId('Late')).rejects.toThrow('no VM named Late');
    time.advance(4_999);
    await expect(cached.vmId('Late')).rejects.toThrow('no VM named Late');
    expect(asked).toEqual(['vm:Late']);
    vms.Late = VM_B;
    time.advance(1);
    expect(await cached.vmId('Late')).toBe(VM_B);
    expect(asked).toEqual(['vm:Late', 'vm:Late']);
  });

  it('names and WSL are kept apart; forget() drops one entry, so the next question asks again', async () => {
    clock();
    const { source, asked } = lookups({ A: VM_A, B: VM_B }, VM_B);
    const cached = new CachedLookups(source);
    expect(await cached.vmId('A')).toBe(VM_A);
    expect(await cached.vmId('B')).toBe(VM_B);
    expect(await cached.wslVmId()).toBe(VM_B);
    expect(asked).toEqual(['vm:A', 'vm:B', 'wsl']);
    cached.forget('vm:A');
    cached.forget('wsl');
    expect(await cached.vmId('A')).toBe(VM_A);
    expect(await cached.vmId('B')).toBe(VM_B);
    expect(await cached.wslVmId()).toBe(VM_B);
    expect(asked).toEqual(['vm:A', 'vm:B', 'wsl', 'vm:A', 'wsl']);
  });
});
