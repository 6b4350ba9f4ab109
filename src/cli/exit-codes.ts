// Exit codes the CLI promises to scripts (documented in docs/cli.md).
export const EXIT_OK = 0;
/** A system error: refused, reset, timed out, permission denied… */
export const EXIT_FAILURE = 1;
/** Bad command line: unknown command or option, malformed address. */
export const EXIT_USAGE = 2;
/** This machine cannot do it: no Hyper-V/vsock sockets, wrong OS, no running WSL 2 VM. */
export const EXIT_UNAVAILABLE = 3;

/** Which exit code an error thrown or emitted by the library maps to. */
export function exitCodeFor(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return EXIT_FAILURE;
  if (code.startsWith('ERR_INVALID_ARG') || code === 'ERR_OUT_OF_RANGE') {
    return EXIT_USAGE;
  }
  if (code === 'EAFNOSUPPORT' || code === 'ENOSYS' || code === 'ERR_HVSOCK_NO_NATIVE_BUILD' || code === 'ERR_WSL_VM_NOT_FOUND') {
    return EXIT_UNAVAILABLE;
  }
  return EXIT_FAILURE;
}
