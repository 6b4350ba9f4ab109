// The self-test's checks, each over this machine's loopback (loopback.ts)
// through the public API, each with a figure: what it measured or saw.
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { loadBinding } from '../transport/native.js';
import { applySocketOptions, hostPlatform, uvErrno } from '../transport/platform.js';
import type { Socket } from '../net/socket.js';
import { addressProblems, describeConnection, shortAddress, type SeenAddresses } from './addresses.js';
import { formatMs, roundMs } from './report.js';
import { errorName } from './loopback.js';
import type { Scope } from './scope.js';
import { connectTimeoutReader, readOption } from './socket-options.js';

export interface CheckOutcome {
  figure: string;
  details?: Record<string, unknown>;
}

/** A check's verdict of failure, with the figure as far as it got. */
export class CheckFailed extends Error {
  constructor(
    message: string,
    readonly figure = '',
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export interface Check {
  name: string;
  /** A ceiling on a hang, not an expectation of speed: emulated CPUs and loaded machines are slow. */
  timeoutMs: number;
  run(scope: Scope): Promise<CheckOutcome>;
}

const KIB = 1024;
const MIB = 1024 * KIB;

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}

/** Everything until 'end', by events (async iteration would destroy the socket and defeat half-close). */
function readUntilEnd(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

/** SHA-256 and length of everything until 'end', without keeping the bytes. */
function digestUntilEnd(socket: Socket): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

/** A function that resolves with exactly the next `n` bytes the socket receives. */
function byteReader(socket: Socket): (n: number) => Promise<Buffer> {
  let buffered: Buffer = Buffer.alloc(0);
  let ended = false;
  let waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  const settle = (): void => {
    if (waiting === null) return;
    const w = waiting;
    if (buffered.length >= w.n) {
      waiting = null;
      const out = buffered.subarray(0, w.n);
      buffered = buffered.subarray(w.n);
      w.resolve(out);
    } else if (ended) {
      waiting = null;
      w.reject(new Error(`the peer ended after ${buffered.length} of ${w.n} bytes`));
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    settle();
  });
  socket.once('end', () => {
    ended = true;
    settle();
  });
  return (n) =>
    new Promise((resolve, reject) => {
      waiting = { n, resolve, reject };
      settle();
    });
}

/** A promise and the function that resolves it. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T | Promise<T>) => void } {
  let resolve!: (value: T | Promise<T>) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const echo = (socket: Socket): void => {
  socket.pipe(socket);
};

const ROUND_TRIPS = 100;
const MESSAGE_BYTES = 64;

const echoRoundTrip: Check = {
  name: 'echo round trip',
  timeoutMs: 60_000,
  async run(scope) {
    const { address } = await scope.listen({}, echo);
    const socket = scope.connect(address);
    await connected(socket);
    const read = byteReader(socket);
    const times: number[] = [];
    for (let i = 1; i <= ROUND_TRIPS; i++) {
      const message = randomBytes(MESSAGE_BYTES);
      const started = performance.now();
      socket.write(message);
      const reply = await read(MESSAGE_BYTES);
      times.push(performance.now() - started);
      if (!reply.equals(message)) throw new CheckFailed(`round trip ${i}: the echo differs from what was sent`);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)] as number;
    const max = times[times.length - 1] as number;
    return {
      figure: `median ${formatMs(median)}, max ${formatMs(max)} over ${ROUND_TRIPS} round trips of ${MESSAGE_BYTES} B`,
      details: { roundTrips: ROUND_TRIPS, bytes: MESSAGE_BYTES, medianMs: roundMs(median), maxMs: roundMs(max) },
    };
  },
};

const TRANSFER_BYTES = 16 * MIB;

const transfer: Check = {
  name: '16 MiB each way, SHA-256',
  timeoutMs: 180_000,
  async run(scope) {
    const toServer = randomBytes(TRANSFER_BYTES);
    const toClient = randomBytes(TRANSFER_BYTES);
    const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
    const serverSide = deferred<{ sha256: string; bytes: number }>();
    const { address } = await scope.listen({ allowHalfOpen: true }, (socket) => {
      serverSide.resolve(digestUntilEnd(socket));
      socket.end(toClient);
    });
    const started = performance.now();
    const client = scope.connect(address, { allowHalfOpen: true });
    const clientSide = digestUntilEnd(client);
    // Both directions at once: the client's write waits for the connect.
    client.end(toServer);
    const [atClient, atServer] = await Promise.all([clientSide, serverSide.promise]);
    const seconds = (performance.now() - started) / 1000;
    const rate = TRANSFER_BYTES / MIB / seconds;
    const details = {
      bytesEachWay: TRANSFER_BYTES,
      seconds: roundMs(seconds),
      clientToServer: { sent: sha256(toServer), received: atServer.sha256, bytes: atServer.bytes },
      serverToClient: { sent: sha256(toClient), received: atClient.sha256, bytes: atClient.bytes },
    };
    const figure = `16 MiB each way at once in ${formatMs(seconds * 1000)} (${rate.toFixed(1)} MiB/s each way)`;
    const broken = [details.clientToServer, details.serverToClient]
      .map((way, i) => (way.sent === way.received ? '' : `${i === 0 ? 'client→server' : 'server→client'}: ${way.bytes} B arrived, SHA-256 differs`))
      .filter((problem) => problem !== '');
    if (broken.length > 0) throw new CheckFailed(broken.join('; '), figure, details);
    return { figure: `${figure}, SHA-256 match`, details };
  },
};

const halfCloseClientFirst: Check = {
  name: 'half-close, client ends first',
  timeoutMs: 60_000,
  async run(scope) {
    const request = Buffer.from('client: my end follows');
    const serverSide = deferred<{ received: Buffer; reply: Buffer }>();
    const { address } = await scope.listen({ allowHalfOpen: true }, (socket) => {
      serverSide.resolve(
        readUntilEnd(socket).then(async (received) => {
          // The client has ended: this side must still be able to write.
          const reply = Buffer.from(`server: got ${received.length} B and your end, still writing`);
          await write(socket, reply);
          socket.end();
          return { received, reply };
        }),
      );
    });
    const client = scope.connect(address, { allowHalfOpen: true });
    const atClient = readUntilEnd(client);
    client.end(request);
    const [server, got] = await Promise.all([serverSide.promise, atClient]);
    const figure = `server read ${server.received.length} B + end, then wrote ${server.reply.length} B; client read ${got.length} B + end`;
    if (!server.received.equals(request)) throw new CheckFailed('the server received other bytes than the client sent', figure);
    if (!got.equals(server.reply)) throw new CheckFailed('the client did not receive what the server wrote after the end', figure);
    return { figure };
  },
};

const halfCloseServerFirst: Check = {
  name: 'half-close, server ends first',
  timeoutMs: 60_000,
  async run(scope) {
    const greeting = Buffer.from('server: my end follows');
    const serverSide = deferred<Buffer>();
    const { address } = await scope.listen({ allowHalfOpen: true }, (socket) => {
      serverSide.resolve(readUntilEnd(socket));
      socket.end(greeting);
    });
    const client = scope.connect(address, { allowHalfOpen: true });
    const got = await readUntilEnd(client);
    // The server has ended: this side must still be able to write.
    const reply = Buffer.from(`client: got ${got.length} B and your end, still writing`);
    await write(client, reply);
    client.end();
    const atServer = await serverSide.promise;
    const figure = `client read ${got.length} B + end, then wrote ${reply.length} B; server read ${atServer.length} B + end`;
    if (!got.equals(greeting)) throw new CheckFailed('the client received other bytes than the server sent', figure);
    if (!atServer.equals(reply)) throw new CheckFailed('the server did not receive what the client wrote after the end', figure);
    return { figure };
  },
};

const refusedConnect: Check = {
  name: 'refused connect',
  timeoutMs: 60_000,
  async run(scope) {
    const address = scope.loopback.unusedAddress();
    const where = shortAddress(address);
    const started = performance.now();
    const socket = scope.connect(address, {}, true);
    const outcome = await new Promise<NodeJS.ErrnoException | 'connected'>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('error', resolve);
    });
    const ms = performance.now() - started;
    if (outcome === 'connected') {
      throw new CheckFailed(`something listens on ${where}: the connect succeeded; run the self-test again`, `connected to ${where}`);
    }
    const details = { address: where, code: outcome.code, errno: outcome.errno, syscall: outcome.syscall, ms: roundMs(ms) };
    const figure = `${outcome.code} in ${formatMs(ms)} (${where})`;
    if (outcome.code !== 'ECONNREFUSED' || outcome.syscall !== 'connect') {
      throw new CheckFailed(`expected ECONNREFUSED from connect, got: ${outcome.message}`, figure, details);
    }
    return { figure, details };
  },
};

const CONNECT_TIMEOUT_MS = 2500;
/**
 * Linux keeps the timeout in jiffies: 2500 ms is a whole number of them at
 * the usual HZ (100, 250, 300, 1000); one jiffy at HZ 100 covers the rest.
 */
const JIFFY_SLACK_MS = 10;

const connectTimeoutOption: Check = {
  name: 'connectTimeout option',
  timeoutMs: 60_000,
  async run(scope) {
    const platform = hostPlatform('setsockopt');
    // The options connect({ connectTimeout }) sets, on a socket of our own
    // that can be read back: Socket keeps its OS handle private.
    const handle = new (loadBinding().SocketHandle)();
    let readBack: { value: number } | { errno: number };
    try {
      const opened = handle.open(platform.family, platform.protocol);
      if (opened < 0) throw new CheckFailed(`socket() failed with ${errorName(opened)}`);
      const set = applySocketOptions(handle, platform.socketOptions({ connectTimeout: CONNECT_TIMEOUT_MS }));
      if (set < 0) throw new CheckFailed(`setsockopt(connect timeout ${CONNECT_TIMEOUT_MS} ms) failed with ${errorName(set)}`);
      readBack = readOption(handle, connectTimeoutReader(scope.loopback.platform));
    } finally {
      handle.close();
    }
    // And a real connect that carries the option, through the public API.
    const { address } = await scope.listen({}, echo);
    const started = performance.now();
    const client = scope.connect(address, { connectTimeout: CONNECT_TIMEOUT_MS });
    await connected(client);
    const connectMs = performance.now() - started;
    const after = `a connect with it succeeded in ${formatMs(connectMs)}`;
    if ('errno' in readBack) {
      // Windows documents HVSOCKET_CONNECT_TIMEOUT for setsockopt only; a
      // provider that does not answer getsockopt for it has still taken the
      // value (setsockopt returned 0). Any other failure is one.
      const unreadable = ['EINVAL', 'ENOPROTOOPT', 'ENOTSUP'].map(uvErrno);
      const figure = `set ${CONNECT_TIMEOUT_MS} ms; getsockopt ${errorName(readBack.errno)}; ${after}`;
      const details = { setMs: CONNECT_TIMEOUT_MS, readBack: errorName(readBack.errno), connectMs: roundMs(connectMs) };
      if (scope.loopback.platform === 'win32' && unreadable.includes(readBack.errno)) return { figure, details };
      throw new CheckFailed(`reading the connect timeout back failed with ${errorName(readBack.errno)}`, figure, details);
    }
    const figure = `set ${CONNECT_TIMEOUT_MS} ms, read back ${readBack.value} ms; ${after}`;
    const details = { setMs: CONNECT_TIMEOUT_MS, readBackMs: readBack.value, connectMs: roundMs(connectMs) };
    const slack = scope.loopback.platform === 'linux' ? JIFFY_SLACK_MS : 0;
    if (Math.abs(readBack.value - CONNECT_TIMEOUT_MS) > slack) {
      throw new CheckFailed(`the socket holds ${readBack.value} ms, not the ${CONNECT_TIMEOUT_MS} ms set`, figure, details);
    }
    return { figure, details };
  },
};

/** What the bufferSize check asks for: above Linux vsock's 256 KiB default maximum, so raising it shows. */
const BUFFER_SIZE = 1024 * 1024;

/** getBufferSize(), or the error's name when the OS will not say. */
function heldBufferSize(socket: Socket): number | string {
  try {
    return socket.getBufferSize() ?? 'no socket';
  } catch (error) {
    return String((error as NodeJS.ErrnoException).code ?? error);
  }
}

const bufferSizeOption: Check = {
  name: 'bufferSize option',
  timeoutMs: 60_000,
  async run(scope) {
    const accepted = deferred<Socket>();
    const { address } = await scope.listen({}, (socket) => {
      echo(socket);
      accepted.resolve(socket);
    }, { bufferSize: BUFFER_SIZE });
    const client = scope.connect(address, { bufferSize: BUFFER_SIZE });
    await connected(client);
    const peer = await accepted.promise;
    const clientHolds = heldBufferSize(client);
    const serverHolds = heldBufferSize(peer);
    const reply = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.once('end', () => resolve(Buffer.concat(chunks)));
    });
    const sent = randomBytes(64 * 1024);
    client.end(sent);
    const echoed = (await reply).equals(sent);
    const figure = `asked ${BUFFER_SIZE} on both ends; the client holds ${clientHolds}, the accepted socket ${serverHolds}; 64 KiB echoed ${echoed ? 'intact' : 'WRONG'}`;
    const details = { asked: BUFFER_SIZE, client: clientHolds, server: serverHolds, echoed };
    if (!echoed) throw new CheckFailed('the echo through sockets with bufferSize came back different', figure, details);
    // Linux vsock holds exactly what was asked (SO_VM_SOCKETS_BUFFER_SIZE,
    // its maximum raised first). Windows' SO_SNDBUF/SO_RCVBUF are hints a
    // Hyper-V provider may refuse or change: there the figure is the finding.
    if (scope.loopback.platform === 'linux' && (clientHolds !== BUFFER_SIZE || serverHolds !== BUFFER_SIZE)) {
      throw new CheckFailed(`the sockets hold ${clientHolds} and ${serverHolds}, not the ${BUFFER_SIZE} asked`, figure, details);
    }
    return { figure, details };
  },
};

const acceptedAddresses: Check = {
  name: 'accepted socket addresses',
  timeoutMs: 60_000,
  async run(scope) {
    const accepted = deferred<Socket>();
    const { server, address } = await scope.listen({}, (socket) => accepted.resolve(socket));
    const client = scope.connect(address);
    await connected(client);
    const peer = await accepted.promise;
    const seen: SeenAddresses = {
      listener: server.address(),
      clientLocal: client.localHvAddress,
      clientRemote: client.remoteHvAddress,
      serverLocal: peer.localHvAddress,
      serverRemote: peer.remoteHvAddress,
    };
    const figure = describeConnection(seen);
    const details = { ...seen };
    const problems = addressProblems(scope.loopback.platform, seen);
    if (problems.length > 0) throw new CheckFailed(problems.join('; '), figure, details);
    return { figure, details };
  },
};

const CONCURRENT = 100;
const CONCURRENT_BYTES = KIB;

const concurrentConnections: Check = {
  name: `${CONCURRENT} concurrent connections`,
  timeoutMs: 120_000,
  async run(scope) {
    let open = 0;
    let most = 0;
    const allAccepted = deferred<void>();
    const { address } = await scope.listen({}, (socket) => {
      open++;
      most = Math.max(most, open);
      if (open === CONCURRENT) allAccepted.resolve();
      socket.once('close', () => open--);
      echo(socket);
    });
    const started = performance.now();
    const clients = Array.from({ length: CONCURRENT }, () => scope.connect(address, {}, true));
    // First every connection open at once, then each one echoes.
    const connects = await Promise.allSettled(clients.map(connected));
    const refused = connects.filter((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (refused.length > 0) {
      throw new CheckFailed(
        `${refused.length} of ${CONCURRENT} connects failed; the first: ${(refused[0]?.reason as Error).message}`,
        `${CONCURRENT - refused.length} of ${CONCURRENT} connected`,
      );
    }
    await allAccepted.promise;
    const echoes = await Promise.allSettled(
      clients.map(async (socket, i) => {
        const payload = randomBytes(CONCURRENT_BYTES);
        const reply = readUntilEnd(socket);
        socket.end(payload);
        const got = await reply;
        if (!got.equals(payload)) throw new Error(`connection ${i + 1}: ${got.length} B came back, not the ${payload.length} B sent`);
      }),
    );
    const ms = performance.now() - started;
    const failed = echoes.filter((e): e is PromiseRejectedResult => e.status === 'rejected');
    const figure = `${CONCURRENT - failed.length} of ${CONCURRENT} echoed ${CONCURRENT_BYTES / KIB} KiB each, ${most} open at once, in ${formatMs(ms)}`;
    const details = { connections: CONCURRENT, echoed: CONCURRENT - failed.length, openAtOnce: most, ms: roundMs(ms) };
    if (failed.length > 0) {
      throw new CheckFailed(`${failed.length} connections failed; the first: ${(failed[0]?.reason as Error).message}`, figure, details);
    }
    return { figure, details };
  },
};

/** In the order they run and are reported. */
export const CHECKS: readonly Check[] = [
  echoRoundTrip,
  transfer,
  halfCloseClientFirst,
  halfCloseServerFirst,
  refusedConnect,
  connectTimeoutOption,
  bufferSizeOption,
  acceptedAddresses,
  concurrentConnections,
];
