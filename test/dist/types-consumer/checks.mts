// What a TypeScript user of hvsock writes, checked by test/dist/types.test.mjs
// with tsc --noEmit against the installed tarball (never run: nothing here
// connects). Copied verbatim to checks.cts for the CommonJS runs. Every
// `@ts-expect-error` line must fail to compile: tsc reports one that does not.
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import * as hvsock from 'hvsock';
import {
  connect,
  createConnection,
  createServer,
  formatAddress,
  parseAddress,
  serviceIdFromPort,
  HV_GUID_PARENT,
  VMADDR_CID_HOST,
  Server,
  Socket,
  type DropEvent,
  type HvSocketError,
  type RedialEvent,
  type ServerEvents,
  type SocketEvents,
  type WslRestartEvent,
  type WslVmNotFoundError,
} from 'hvsock';
import {
  ERR_WSL_VM_NOT_FOUND,
  getWslVmId,
  listServices,
  lookupWslVmId,
  type HvSocketError as HostError,
  type WslVmNotFoundError as HostWslVmNotFoundError,
} from 'hvsock/host';
import { HvAgent, HvsAgent, hvsockDispatcher, serve } from 'hvsock/http';
import { forward, Forwarder, FORWARD_DEFAULTS, type ForwardOptions, type ForwardRecord, type ForwardStats } from 'hvsock/forward';

/** Every address field an hvsock error carries, read with its type. */
function fields(error: HvSocketError): [string | undefined, number | undefined, string | undefined, string | undefined, number | undefined, number | undefined, string | undefined, string | undefined, number | undefined] {
  return [error.code, error.errno, error.syscall, error.address, error.cid, error.port, error.vmId, error.serviceId, error.windowsError];
}

export async function server(): Promise<void> {
  const server: Server = createServer({ pauseOnConnect: false }, (socket) => {
    const typed: Socket = socket;
    // @ts-expect-error the connection listener's socket is a Socket, not any
    const notAny: number = socket;
    void typed;
    void notAny;
  });
  server.on('connection', (socket) => {
    socket.end('bye\n');
    // @ts-expect-error the listener's parameter is a Socket, not any
    socket.noSuchMethod();
  });
  server.on('error', (error) => fields(error));
  server.on('drop', (data: DropEvent) => `${data.remoteAddress}:${data.remotePort} → ${data.localHvAddress?.serviceId}`);
  server.on('wsldown', (error: WslVmNotFoundError) => error.attempts.map((a) => `${a.source}: ${a.reason}`));
  server.on('wslrestart', ({ previousVmId, vmId }: WslRestartEvent) => `${previousVmId} → ${vmId}`);
  server.once('listening', () => server.address());
  server.prependListener('close', () => undefined);
  server.prependOnceListener('connection', (socket: Socket) => socket.destroy());
  const onClose = (): void => undefined;
  server.addListener('close', onClose).removeListener('close', onClose).off('close', onClose);
  server.emit('connection', new Socket());
  // @ts-expect-error a misspelt event name
  server.on('conection', (socket) => socket);
  // @ts-expect-error a listener whose parameter has the wrong type
  server.on('connection', (socket: string) => socket);
  // @ts-expect-error 'close' gives its listener nothing
  server.once('close', (error: Error) => error);
  // @ts-expect-error emit with the wrong argument
  server.emit('connection', 'not a socket');
  server.listen({ cid: VMADDR_CID_HOST, port: 5000 });
  await once(server, 'listening');
  const emitter: import('node:events').EventEmitter = server;
  void emitter;
  const map: ServerEvents['connection'] = [new Socket()];
  void map;
}

export function client(): Socket {
  const socket = connect({ vmId: HV_GUID_PARENT, serviceId: serviceIdFromPort(5000), redial: { timeout: 10_000 } }, () => undefined);
  socket.on('data', (data) => {
    const bytes: Buffer = data;
    void bytes;
  });
  socket.on('close', (hadError) => {
    const flag: boolean = hadError;
    // @ts-expect-error hadError is a boolean, not any
    const text: string = hadError;
    void flag;
    void text;
  });
  socket.on('redial', (event: RedialEvent) => `${event.attempt} ${event.delay} ${fields(event.error).join()}`);
  socket.on('error', (error) => fields(error));
  socket.once('connect', () => socket.write('hello\n'));
  // node:net's accessors are text and numbers (logging middleware's template works); the typed
  // addresses are remoteHvAddress/localHvAddress.
  const peer: string = `${socket.remoteAddress}:${socket.remotePort}`;
  const machine: string | undefined = socket.remoteAddress;
  const port: number | undefined = socket.localPort;
  const vmId: string | undefined = socket.remoteHvAddress?.vmId;
  // @ts-expect-error remoteAddress is the machine as text, not an address object
  const cid: number | undefined = socket.remoteAddress?.cid;
  void [peer, machine, port, vmId, cid];
  connect('parent:5000');
  connect(5000, 'parent', () => undefined);
  connect({ host: 'loopback', port: 5000 });
  for (const name of ['drain', 'end', 'finish', 'ready', 'timeout', 'pause', 'resume', 'readable'] as const) socket.on(name, () => name);
  // A name held in a `string` stays untyped, as with node:net.
  const dynamic: string = 'end';
  socket.on(dynamic, (...args: unknown[]) => args);
  socket.on(Symbol.for('hvsock.test'), () => undefined);
  // @ts-expect-error a misspelt event name
  socket.on('daat', (data: Buffer) => data);
  // @ts-expect-error a listener whose parameter has the wrong type
  socket.on('data', (data: number) => data);
  // @ts-expect-error 'close' passes a boolean
  socket.once('close', (hadError: string) => hadError);
  // @ts-expect-error emit with the wrong argument
  socket.emit('close', 'yes');
  const stream: Duplex = socket;
  stream.pipe(createConnection({ cid: 3, port: 5000 }));
  const map: SocketEvents['data'] = [Buffer.alloc(0)];
  void map;
  return socket;
}

export async function host(): Promise<string> {
  try {
    const { vmId, source, attempts } = await lookupWslVmId();
    return `${vmId} from ${source} after ${attempts.length} failed sources; now ${await getWslVmId()}`;
  } catch (caught) {
    const error = caught as HostWslVmNotFoundError;
    if (error.code === ERR_WSL_VM_NOT_FOUND) return error.attempts.map((a) => a.reason).join('; ');
    const failure = caught as HostError;
    return `${failure.syscall} ${failure.code} ${failure.windowsError ?? ''}`;
  }
}

export const more = [hvsock.localCid, formatAddress, parseAddress('parent:5000').cid, listServices];

/** Socket and Server without `new`, as net.Socket() and net.Server(); subclassing and instanceof still work. */
export class TracedSocket extends Socket {
  traced = true;
}
export function withoutNew(): [Socket, Server, boolean, TracedSocket] {
  const socket: Socket = Socket({ allowHalfOpen: true });
  const server: Server = Server({ pauseOnConnect: true }, (accepted: Socket) => accepted.end());
  // @ts-expect-error Socket() takes SocketOptions, not a number
  Socket(5);
  return [socket, server, socket instanceof Socket && server instanceof Server, new TracedSocket()];
}

/** hvsock/forward: a forward exposed and unexposed at run time, its events typed. */
export async function forwards(): Promise<ForwardStats> {
  const options: ForwardOptions = { listen: 'tcp:2222', target: 'vm:MyVM:22', maxConnections: FORWARD_DEFAULTS.maxConnections, redial: { timeout: 60_000 } };
  const ssh: Forwarder = forward(options);
  ssh.on('end', (record: ForwardRecord) => `${record.peer} ${record.outcome} ${record.bytesIn} ${record.error?.message ?? ''}`);
  ssh.on('refused', ({ reason, message }) => `${reason}: ${message}`);
  ssh.on('retry', ({ attempt, delay }) => attempt * delay);
  // @ts-expect-error a misspelt event name
  ssh.on('ended', () => undefined);
  // @ts-expect-error 'end' gives a ForwardRecord, not a number
  ssh.on('end', (n: number) => n + 1);
  // @ts-expect-error listen is an end as text
  forward({ listen: 2222, target: 'parent:22' });
  await ssh.close(5000);
  return ssh.stats();
}

/** hvsock/http: node:http's Agent, fetch's dispatcher and serve(), as a TypeScript user writes them. */
export function httpAdapters(): void {
  const agent: import('node:http').Agent = new HvAgent({ target: 'vm:MyVM:80', keepAlive: true, maxSockets: 4 });
  const secure: import('node:https').Agent = new HvsAgent({ resolve: (host, port) => `vm:${host}:${port}`, ca: 'PEM' });
  // @ts-expect-error a target is an address as text, not a port number
  new HvAgent({ target: 80 });
  // @types/node's fetch types take no dispatcher; undici's fetch does, with its own Dispatcher type named here.
  void hvsockDispatcher('parent:5000').close();
  const listener = serve(createHttpServer((_req, res) => res.end('ok')), 'any:80');
  listener.on('listening', () => listener.address());
  void [agent, secure];
}
