// Numbers and well-known GUIDs of the two socket families: Windows'
// AF_HYPERV (hvsocket.h) and Linux's AF_VSOCK (linux/vm_sockets.h); their
// sources are in docs/hyperv-facts.md#addresses and #timeouts.

/** Windows address family of Hyper-V sockets (not defined by hvsocket.h). */
export const AF_HYPERV = 34;
/** Linux address family of virtual machine sockets. */
export const AF_VSOCK = 40;
/** The only Hyper-V socket protocol; protocol 0 fails with WSAEPROTOTYPE. */
export const HV_PROTOCOL_RAW = 1;

/** Listen on every CID this machine has. */
export const VMADDR_CID_ANY = 0xffffffff;
/** Bind to a port the kernel picks. */
export const VMADDR_PORT_ANY = 0xffffffff;
/** The hypervisor itself. */
export const VMADDR_CID_HYPERVISOR = 0;
/** This machine (vsock loopback). */
export const VMADDR_CID_LOCAL = 1;
/** The host of this virtual machine. */
export const VMADDR_CID_HOST = 2;
/** sockaddr_vm flag: route to the host even when the CID is one of our own guests (nested VMs). */
export const VMADDR_FLAG_TO_HOST = 1;

/** Listeners bound here accept connections from all partitions. */
export const HV_GUID_ZERO = '00000000-0000-0000-0000-000000000000';
/** Same as HV_GUID_ZERO. */
export const HV_GUID_WILDCARD = '00000000-0000-0000-0000-000000000000';
/** The broadcast VM ID; not a connect target. */
export const HV_GUID_BROADCAST = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** Listeners bound here accept connections from all child partitions. */
export const HV_GUID_CHILDREN = '90db8b89-0d35-4f79-8ce9-49ea0ac8b7cd';
/** Connecting here reaches the same partition. */
export const HV_GUID_LOOPBACK = 'e0e16197-dd56-4a10-9195-5ee7a155a838';
/** Connecting here reaches the parent partition (the host, or the next level up when nested). */
export const HV_GUID_PARENT = 'a42e7cda-d03f-480c-9cc2-a4de20abb878';
/** The host of a silo (Windows containers). */
export const HV_GUID_SILOHOST = '36bd0c5c-7276-4223-88ba-7d03b654c568';
/** Service GUIDs of this form, with Data1 = a vsock port, are what Linux guests can reach. */
export const HV_GUID_VSOCK_TEMPLATE = '00000000-facb-11e6-bd58-64006a7986d3';

/** Hyper-V socket option (level HV_PROTOCOL_RAW): connect timeout in ms. */
export const HVSOCKET_CONNECT_TIMEOUT = 1;
/** Hyper-V socket option: let a container's connection pass through to the host. */
export const HVSOCKET_CONTAINER_PASSTHRU = 2;
/** Hyper-V socket option: keep the connection across VM suspend. */
export const HVSOCKET_CONNECTED_SUSPEND = 4;
/** Hyper-V socket option: connect to the high virtual trust level. */
export const HVSOCKET_HIGH_VTL = 8;
/** Largest HVSOCKET_CONNECT_TIMEOUT Windows accepts, in ms. */
export const HVSOCKET_CONNECT_TIMEOUT_MAX = 300000;

/** vsock socket option (level AF_VSOCK): buffer size, u64. */
export const SO_VM_SOCKETS_BUFFER_SIZE = 0;
/** vsock socket option: minimum buffer size, u64. */
export const SO_VM_SOCKETS_BUFFER_MIN_SIZE = 1;
/** vsock socket option: maximum buffer size, u64. */
export const SO_VM_SOCKETS_BUFFER_MAX_SIZE = 2;
/** vsock socket option: connect timeout, struct timeval (kernel default 2 s). */
export const SO_VM_SOCKETS_CONNECT_TIMEOUT = 6;
