// Where the self-test may talk: this machine's own loopback, and nothing
// else, or a reason why it cannot run here.
//
// Linux: CID 1 works only with the vsock_loopback transport. Without it the
// kernel hands a connect to CID 1 to the guest transport, which sends it to
// this machine's host: so the test first binds a socket to CID 1 (which
// succeeds only where the loopback transport is loaded; the probe is
// transport/vsock-loopback.ts, which connect() itself also asks) and connects
// nowhere when that fails. Every server it then starts is bound to CID 1 itself
// (docs/hyperv-facts.md#vsock-loopback).
// Windows: HV_GUID_LOOPBACK with template service GUIDs, which need no
// registry entry; it never leaves the partition.
import { randomInt } from 'node:crypto';
import { getSystemErrorName } from 'node:util';
import { currentPlatform, type AddressInput, type AddressPlatform } from '../address/address.js';
import { AF_HYPERV, HV_GUID_LOOPBACK, HV_PROTOCOL_RAW, VMADDR_CID_LOCAL } from '../address/constants.js';
import { loadBinding, type NativeBinding } from '../transport/native.js';
import { probeVsockLoopback } from '../transport/vsock-loopback.js';

export interface Loopback {
  platform: AddressPlatform;
  family: 'AF_VSOCK' | 'AF_HYPERV';
  /** How the report names it: "CID 1", "HV_GUID_LOOPBACK". */
  label: string;
  /**
   * Where a new server listens: on Linux CID 1 with a kernel-picked port; on
   * Windows HV_GUID_LOOPBACK with a random template service (Hyper-V has no
   * kernel-picked services; a collision is EADDRINUSE and worth a retry).
   */
  listenAddress(): AddressInput;
  /** An address on this loopback that nothing listens on (for the refused connect), chosen the same way. */
  unusedAddress(): AddressInput;
}

export type LoopbackProbe =
  | { loopback: Loopback }
  | { unavailable: string; family: Loopback['family'] | null };

/**
 * A random port (a template service on Windows) away from the ones people
 * use, as the engine suite picks them: among 2^30, a collision with a
 * listener is unlikely, and the refused check names whatever answered.
 */
function randomTemplatePort(): number {
  return 0x10000000 + randomInt(0x60000000);
}

const linux: Loopback = {
  platform: 'linux',
  family: 'AF_VSOCK',
  label: 'CID 1 (vsock_loopback)',
  listenAddress: () => ({ cid: VMADDR_CID_LOCAL, port: 0 }),
  unusedAddress: () => ({ cid: VMADDR_CID_LOCAL, port: randomTemplatePort() }),
};

const win32: Loopback = {
  platform: 'win32',
  family: 'AF_HYPERV',
  label: 'HV_GUID_LOOPBACK',
  listenAddress: () => ({ vmId: HV_GUID_LOOPBACK, port: randomTemplatePort() }),
  unusedAddress: () => ({ vmId: HV_GUID_LOOPBACK, port: randomTemplatePort() }),
};

/** A negative libuv error number's code name (EADDRNOTAVAIL), or the number where it has none. */
export function errorName(errno: number): string {
  try {
    return getSystemErrorName(errno);
  } catch {
    return `error ${errno}`;
  }
}

/**
 * This machine's loopback, or why the self-test cannot run here. Opens no
 * connection. The platform and the binding are parameters only so that the
 * decision can be unit-tested with a binding whose bind() fails.
 */
export function findLoopback(
  { platform, binding }: { platform: AddressPlatform | undefined; binding: () => NativeBinding } = {
    platform: currentPlatform(),
    binding: loadBinding,
  },
): LoopbackProbe {
  if (platform === undefined) {
    return {
      unavailable: `Hyper-V sockets exist on Windows (AF_HYPERV) and Linux (AF_VSOCK); hvsock has neither on ${process.platform}`,
      family: null,
    };
  }
  const family = platform === 'linux' ? 'AF_VSOCK' : 'AF_HYPERV';
  try {
    if (platform === 'linux') {
      const probe = probeVsockLoopback(binding());
      if (!probe.available && probe.syscall === 'socket') {
        return {
          unavailable: `socket(AF_VSOCK) failed with ${errorName(probe.errno)}: this kernel has no vsock (load your hypervisor's vsock transport: hv_sock, vmw_vsock_virtio_transport; hvsock doctor says more)`,
          family,
        };
      }
      if (!probe.available) {
        return {
          unavailable:
            `no vsock loopback: bind to CID 1 failed with ${errorName(probe.errno)}, so the vsock_loopback transport is not loaded. ` +
            'Without it a connect to CID 1 would leave this machine for its host, so the self-test opens no connection ' +
            '(modprobe vsock_loopback, then run it again)',
          family,
        };
      }
      return { loopback: linux };
    }
    const err = binding().probe(AF_HYPERV, HV_PROTOCOL_RAW);
    if (err < 0) {
      return {
        unavailable:
          `no Hyper-V socket provider: socket(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW) failed with ${errorName(err)}. ` +
          'Hyper-V sockets need Windows 10 / Server 2016 or later, as a Hyper-V host or guest (Wine has none)',
        family,
      };
    }
    return { loopback: win32 };
  } catch (error) {
    // No native binary for this platform: nothing can be opened.
    return { unavailable: (error as Error).message, family };
  }
}
