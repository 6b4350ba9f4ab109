// The vsock suite must never pass by skipping: without vsock loopback on
// this kernel it fails here, before any test. Detection binds, never connects.
import { AF_VSOCK, VMADDR_CID_LOCAL, VMADDR_PORT_ANY, encodeSockaddrVm } from '../../src/index.js';
import { loadBinding } from '../../src/transport/native.js';

export default function requireLoopback(): void {
  const handle = new (loadBinding().SocketHandle)();
  try {
    const opened = handle.open(AF_VSOCK, 0);
    const bound = opened < 0 ? opened : handle.bind(encodeSockaddrVm(VMADDR_CID_LOCAL, VMADDR_PORT_ANY));
    if (bound < 0) {
      throw new Error(
        `vsock loopback (CID 1) is not available on this kernel (error ${bound}); ` +
          'run the suite through `npm run test:vm`, which starts a QEMU guest that has it',
      );
    }
  } finally {
    handle.close();
  }
}
