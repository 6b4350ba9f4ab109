// Whether this Linux kernel has vsock loopback (CID 1), found by binding,
// never by connecting: the connect preflight (platform.ts) and the self-test
// (selftest/loopback.ts) both ask here.
//
// net/vmw_vsock/af_vsock.c decides where a connect goes in
// vsock_assign_transport(): CID 1 goes to the loopback transport only when one
// is registered (vsock_use_local_transport()); without it a CID at or below 2
// goes to the guest->host transport (hv_sock, virtio, VMCI), i.e. to this
// machine's hypervisor host, which answers for CID 1 or not at all. The same
// file's bind path (__vsock_bind() -> vsock_find_cid()) accepts CID 1 only
// when the loopback transport is registered and fails with EADDRNOTAVAIL
// otherwise. So "bind to CID 1 works" is exactly "a connect to CID 1 stays on
// this machine": the probe binds CID 1, port VMADDR_PORT_ANY, and closes.
import { encodeSockaddrVm } from '../address/address.js';
import { AF_VSOCK, VMADDR_CID_LOCAL, VMADDR_PORT_ANY } from '../address/constants.js';
import { loadBinding, type NativeBinding } from './native.js';

/** What the probe saw: loopback, or the call that failed and its negative libuv error. */
export type VsockLoopbackProbe =
  | { available: true }
  | { available: false; syscall: 'socket' | 'bind'; errno: number };

/** Opens a vsock socket, binds it to CID 1 (port ANY), closes it. Never connects. */
export function probeVsockLoopback(binding: NativeBinding): VsockLoopbackProbe {
  const handle = new binding.SocketHandle();
  try {
    const opened = handle.open(AF_VSOCK, 0);
    if (opened < 0) return { available: false, syscall: 'socket', errno: opened };
    const bound = handle.bind(encodeSockaddrVm(VMADDR_CID_LOCAL, VMADDR_PORT_ANY));
    return bound < 0 ? { available: false, syscall: 'bind', errno: bound } : { available: true };
  } finally {
    handle.close();
  }
}

let cached: VsockLoopbackProbe | undefined;

/**
 * The probe of the running kernel, made once per process and kept: a
 * vsock_loopback loaded or unloaded later is seen by the next process.
 * Throws where the native binary cannot be loaded.
 */
export function vsockLoopback(): VsockLoopbackProbe {
  cached ??= probeVsockLoopback(loadBinding());
  return cached;
}
