// The typed face of the native addon, loaded on first use so that the pure
// helpers (GUIDs, addresses) work on machines without a matching binary.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Callbacks the native layer invokes on the handle object itself. */
export interface NativeHandleCallbacks {
  onconnect?: (status: number) => void;
  onconnection?: (status: number, handle: NativeHandle | undefined) => void;
  /**
   * nread > 0: the bytes are `arrayBuffer[0, nread)`, and the ArrayBuffer is
   * this chunk's alone, never read into again (native/read_memory.h);
   * otherwise UV_EOF or an error.
   */
  onread?: (nread: number, arrayBuffer?: ArrayBuffer) => void;
  onwrite?: (status: number) => void;
}

/**
 * One OS socket. Every method returns 0 (or data) on success and a negative
 * libuv error number on failure; none of them throws or blocks.
 */
export interface NativeHandle extends NativeHandleCallbacks {
  open(family: number, protocol: number): number;
  adopt(fd: number, family: number): number;
  bind(sockaddr: Uint8Array): number;
  listen(backlog: number): number;
  connect(sockaddr: Uint8Array): number;
  readStart(): number;
  readStop(): number;
  /** 0: written; 1: pending until onwrite; < 0: error. */
  writev(chunks: Uint8Array | Uint8Array[]): number;
  shutdown(): number;
  close(): void;
  getsockname(): Buffer | number;
  getpeername(): Buffer | number;
  setsockopt(level: number, name: number, value: Uint8Array): number;
  getsockopt(level: number, name: number, length: number): Buffer | number;
  /** On a listener: options set on every socket it accepts (on Windows before AcceptEx). */
  setAcceptOptions(options: ReadonlyArray<{ level: number; name: number; value: Uint8Array }>): number;
  ref(): void;
  unref(): void;
  readonly fd: number;
  /**
   * The Windows error behind the last negative status this handle returned
   * or passed to a callback (0: none, or not from Windows; always 0 off
   * Windows). Read it at once: the next call or callback replaces it.
   */
  readonly windowsError: number;
}

export interface NativeBinding {
  SocketHandle: new () => NativeHandle;
  /** How many reads were handed to JavaScript, each copied into an ArrayBuffer of its own (native/read_memory.h). */
  readMemoryStats(): { copied: number };
  localCid(): number;
  probe(family: number, protocol: number): number;
  UV_EOF: number;
  platform: 'posix' | 'win32';
}

export const WRITE_PENDING = 1;

let binding: NativeBinding | undefined;

/** The package root holds binding.gyp whether we run from src/ or dist/cjs/. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'binding.gyp'))) {
    const parent = dirname(dir);
    if (parent === dir) return join(__dirname, '..', '..');
    dir = parent;
  }
  return dir;
}

/** package.json's version (for `hvsock --version`, doctor and selftest), or 'unknown' if it cannot be read. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function loadBinding(): NativeBinding {
  if (binding === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    const root = packageRoot();
    // HVSOCK_ADDON_PATH, a testing/debugging knob: load this .node file instead
    // of the build node-gyp-build picks (npm run test:sanitize points it at the
    // AddressSanitizer build in build-sanitize/).
    const override = process.env.HVSOCK_ADDON_PATH;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      binding = override ? (require(override) as NativeBinding) : load(root);
    } catch (cause) {
      if (!/No native build was found/.test(String((cause as Error)?.message))) throw cause;
      throw noBinaryError(root, cause as Error);
    }
  }
  return binding;
}

/**
 * node-gyp-build's own message lists tags, not a way out. Since npm 11 blocks
 * dependency install scripts by default, a platform without a prebuild gets
 * no from-source build at install time unless the user allows it.
 */
function noBinaryError(root: string, cause: Error): Error {
  let shipped: string[] = [];
  try {
    shipped = readdirSync(join(root, 'prebuilds'));
  } catch {
    // a checkout without prebuilds
  }
  const error = new Error(
    `hvsock has no native binary for ${process.platform}-${process.arch}` +
      ` (prebuilt: ${shipped.length > 0 ? shipped.join(', ') : 'none in this copy'}).` +
      ' Build it from source (needs a C++17 compiler, Python and make, or Visual Studio on Windows):' +
      ' npm rebuild hvsock (where npm blocks install scripts, first: npm install-scripts approve hvsock)',
    { cause },
  ) as Error & { code: string };
  error.code = 'ERR_HVSOCK_NO_NATIVE_BUILD';
  return error;
}
