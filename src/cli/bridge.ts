// `hvsock listen` and `hvsock connect`: stdin and stdout joined to one
// connection, as ncat/socat do. End of stdin half-closes the connection; the
// command ends when the connection has closed and its bytes are on stdout.
import type { Readable, Writable } from 'node:stream';
import { createServer, connect, type Server, type Socket } from '../index.js';
import type { ParsedAddress } from '../address/text.js';
import type { AddressInput } from '../address/address.js';
import { parseEnd, type ServicePart } from '../forward/ends.js';
import { getVmId } from '../host/vms.js';
import { addressText, peerText, readAddress } from './addresses.js';
import { argProblem, failureText } from './messages.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';
import { UsageError } from './usage.js';
import { reportWsl, withWslVmId } from './wsl.js';

export interface BridgeIo {
  stdin: Readable;
  stdout: Writable;
  /** One line for the user on stderr; the caller prefixes it with the command. */
  log: (message: string) => void;
}

/**
 * Resolves with the exit code once the connection is over. `releaseStdin`:
 * the command ends with this connection, so stop reading stdin then.
 */
function bridge(socket: Socket, io: BridgeIo, releaseStdin = true): Promise<number> {
  return new Promise((resolve) => {
    let failure: unknown = null;
    socket.on('error', (error) => (failure = error));
    io.stdin.pipe(socket);
    socket.pipe(io.stdout, { end: false });
    socket.once('close', () => {
      io.stdin.unpipe(socket);
      io.stdin.pause();
      // stdin may be a terminal nobody will close: stop reading it, unless
      // the next connection (listen --keep-open) is to get it.
      if (releaseStdin) (io.stdin as Readable & { destroy?: () => void }).destroy?.();
      if (failure !== null) io.log(failureText(failure));
      resolve(failure === null ? EXIT_OK : exitCodeFor(failure));
    });
  });
}

/** `--wait <seconds>` → milliseconds for the redial option; a usage error when malformed. */
export function waitOption(text: string | undefined, command = 'connect'): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds > 1_000_000) {
    throw new UsageError(`--wait must be a number of seconds from 0 to 1000000, got "${text}"`, command);
  }
  return seconds * 1000;
}

/** What `hvsock connect` takes: an address, or a Hyper-V VM by name (`vm:MyVM:22`, Windows hosts). */
export type ConnectTarget = ParsedAddress | { vmName: string; service: ServicePart };

/** The connect command's address: `vm:NAME:SERVICE` (as forward's ends read it) or the short form. */
export function readConnectTarget(text: string, command: string, platform: NodeJS.Platform): ConnectTarget {
  if (!/^vm:/i.test(text.trim())) return readAddress(text, 'connect', command, platform);
  try {
    const end = parseEnd(text, 'target', 'address', platform === 'linux' || platform === 'win32' ? platform : undefined);
    if (end.kind === 'vm') return { vmName: end.vmName, service: end.service };
  } catch (error) {
    throw new UsageError(`address "${text}" ${argProblem(error)?.problem ?? (error as Error).message}`, command);
  }
  return readAddress(text, 'connect', command, platform);
}

/** The address to connect to now: a VM's ID and WSL's are looked up once, here (a connection does not follow restarts). */
async function lookUp(target: ConnectTarget): Promise<AddressInput> {
  if ('vmName' in target) return { vmId: await getVmId(target.vmName), ...target.service };
  return withWslVmId(target);
}

/** `waitMs` (--wait): keep redialing a peer that is not listening yet for that long. */
export async function runConnect(target: ConnectTarget, io: BridgeIo, waitMs?: number): Promise<number> {
  const address = await lookUp(target);
  const socket = connect({ ...address, allowHalfOpen: true, ...(waitMs === undefined ? {} : { redial: waitMs }) });
  // Once, not per attempt: a script's log should not fill with retries.
  socket.once('redial', ({ error }) => io.log(`${failureText(error)}; retrying for up to ${(waitMs ?? 0) / 1000} s`));
  return bridge(socket, io);
}

/** The line a listening server says first: "listening on any:5000". */
export function listeningLine(server: Pick<Server, 'address'>): string {
  return `listening on ${addressText(server.address())}`;
}

/** Serves one connection (or, with keepOpen, one after another) on stdin/stdout. */
export function runListen(target: ParsedAddress, io: BridgeIo, keepOpen = false): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer({ allowHalfOpen: true });
    let busy = false;
    server.on('connection', (socket) => {
      if (busy) {
        io.log(`connection from ${peerText(socket)} turned away: one conversation at a time on one stdin`);
        socket.destroy();
        return;
      }
      busy = true;
      io.log(`connection from ${peerText(socket)}`);
      if (!keepOpen) server.close();
      void bridge(socket, io, !keepOpen).then((code) => {
        busy = false;
        if (!keepOpen) resolve(code);
      });
    });
    server.once('error', (error) => {
      io.log(failureText(error));
      resolve(exitCodeFor(error));
    });
    reportWsl(server, io.log);
    server.once('listening', () => io.log(listeningLine(server)));
    server.listen(target);
  });
}
