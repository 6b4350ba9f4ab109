// The two ends of a forward, as a user writes them:
//   any:5000, parent:22, 3:22, <vm-guid>:<service-guid>, wsl:8080  an hvsock address (the short form)
//   vm:MyVM:22                    a Hyper-V VM by name (Windows), looked up as `hvsock vm id` does
//   tcp:2222, tcp:HOST:PORT, tcp:[::1]:PORT   TCP; a listen end without a host binds 127.0.0.1
//   unix:/run/app.sock            a Unix domain socket (not on Windows, where Node has none)
//   pipe:NAME, pipe:\\.\pipe\NAME a Windows named pipe
//   fd:3                          listen only: an inherited, listening vsock / Hyper-V socket
//                                 (systemd socket activation: ListenStream=vsock::2222)
// Parsing is pure and platform-explicit so that config files are checked up
// front, with the rule and field named, on any OS.
import { isIP } from 'node:net';
import { resolveAddress, type AddressPlatform } from '../address/address.js';
import { parseUint32Text } from '../address/names.js';
import { parseAddress, type ParsedAddress } from '../address/text.js';
import { isGuid, normalizeGuid } from '../address/guid.js';
import { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } from '../errors/errors.js';

export type EndRole = 'listen' | 'target';

/** The service part of a `vm:` end: a port or a service GUID. */
export type ServicePart = { port: number } | { serviceId: string };

export type ForwardEnd =
  | { kind: 'hvsock'; text: string; address: ParsedAddress }
  | { kind: 'vm'; text: string; vmName: string; service: ServicePart }
  | { kind: 'tcp'; text: string; host: string; port: number }
  | { kind: 'unix'; text: string; path: string }
  | { kind: 'pipe'; text: string; path: string }
  | { kind: 'fd'; text: string; fd: number };

/** An end reached over hvsock: an address, or a VM by name (looked up on a Windows host). */
export type HvsockEnd = Extract<ForwardEnd, { kind: 'hvsock' | 'vm' }>;

/** A listen end binds loopback unless told otherwise: a forward is not a way onto the network by accident. */
export const DEFAULT_TCP_LISTEN_HOST = '127.0.0.1';
const DEFAULT_TCP_TARGET_HOST = 'localhost';
const PIPE_PREFIX = '\\\\.\\pipe\\';
const VM_NAME_PREFIX = 'vm:';

const FORMS =
  'an hvsock address (any:5000, parent:22, wsl:8080, <vm-id>:5000), vm:NAME:PORT, tcp:[HOST:]PORT, unix:PATH, pipe:NAME or (to listen) fd:N';

function invalid(field: string, text: string, reason: string): TypeError {
  return ERR_INVALID_ARG_VALUE(field, text, reason);
}

function tcpPort(text: string, port: string, role: EndRole, field: string): number {
  const value = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  const min = role === 'listen' ? 0 : 1;
  if (!(value >= min && value <= 65535)) throw invalid(field, text, `has TCP port "${port}": write a number from ${min} to 65535`);
  return value;
}

function parseTcp(text: string, rest: string, role: EndRole, field: string): ForwardEnd {
  const colon = rest.lastIndexOf(':');
  const port = rest.slice(colon + 1);
  let host = colon === -1 ? '' : rest.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) throw invalid(field, text, 'has an IPv6 host without brackets: write tcp:[::1]:PORT');
  if (colon !== -1 && host === '') throw invalid(field, text, 'has an empty host: write tcp:PORT or tcp:HOST:PORT');
  if (host !== '' && isIP(host) === 0 && !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/i.test(host)) {
    throw invalid(field, text, `has host "${host}", which is neither an IP address nor a host name`);
  }
  const fallback = role === 'listen' ? DEFAULT_TCP_LISTEN_HOST : DEFAULT_TCP_TARGET_HOST;
  return { kind: 'tcp', text, host: host === '' ? fallback : host, port: tcpPort(text, port, role, field) };
}

function parseVm(text: string, rest: string, field: string): ForwardEnd {
  const colon = rest.lastIndexOf(':');
  const vmName = colon === -1 ? '' : rest.slice(0, colon);
  const service = rest.slice(colon + 1);
  if (vmName.trim() === '' || service === '') throw invalid(field, text, 'must be vm:NAME:PORT or vm:NAME:<service-guid>, e.g. vm:MyVM:22');
  const port = parseUint32Text(service);
  if (port !== undefined) return { kind: 'vm', text, vmName, service: { port } };
  if (isGuid(service)) return { kind: 'vm', text, vmName, service: { serviceId: normalizeGuid(service) } };
  throw invalid(field, text, `has service "${service}", which is neither a port (0 to 0xFFFFFFFF) nor a GUID`);
}

function parsePipe(text: string, rest: string, field: string): ForwardEnd {
  const name = rest.startsWith(PIPE_PREFIX) ? rest.slice(PIPE_PREFIX.length) : rest;
  if (name === '' || name.includes('\\') || name.length > 256) {
    throw invalid(field, text, 'must be pipe:NAME or pipe:\\\\.\\pipe\\NAME, a name of 1 to 256 characters without a backslash');
  }
  return { kind: 'pipe', text, path: `${PIPE_PREFIX}${name}` };
}

function parseHvsock(text: string, role: EndRole, field: string, platform: AddressPlatform | undefined): ForwardEnd {
  let address: ParsedAddress;
  try {
    address = parseAddress(text, field);
  } catch (error) {
    // A bare host:port that is not an hvsock address is most likely a TCP end written without its prefix.
    const colon = text.lastIndexOf(':');
    const machine = colon === -1 ? '' : text.slice(0, colon);
    if (machine !== '' && (isIP(machine.replace(/^\[|\]$/g, '')) !== 0 || /[a-z]/i.test(machine))) {
      throw invalid(field, text, `is not an end of a forward: write tcp:${text} for TCP, or one of ${FORMS}`);
    }
    throw error;
  }
  if (address.wsl !== true && platform !== undefined) resolveAddress(address, role === 'listen' ? 'listen' : 'connect', platform, field);
  return { kind: 'hvsock', text, address };
}

/**
 * Reads one end. `platform`: the OS it will run on, for what only exists on
 * one (pipes, unix sockets, vm: names, CIDs); undefined checks the form only.
 * Throws ERR_INVALID_ARG_VALUE naming `field` and saying what to write.
 */
export function parseEnd(text: unknown, role: EndRole, field: string, platform: AddressPlatform | undefined): ForwardEnd {
  if (typeof text !== 'string') throw ERR_INVALID_ARG_TYPE(field, 'string', text);
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(field, text, `is empty: write ${FORMS}`);
  const colon = trimmed.indexOf(':');
  const scheme = colon === -1 ? '' : trimmed.slice(0, colon).toLowerCase();
  const rest = trimmed.slice(colon + 1);
  switch (scheme) {
    case 'tcp':
      return parseTcp(trimmed, rest, role, field);
    case 'unix':
      if (rest === '') throw invalid(field, text, 'must be unix:PATH');
      if (platform === 'win32') throw invalid(field, text, 'is a Unix domain socket, which Node does not offer on Windows: write pipe:NAME');
      return { kind: 'unix', text: trimmed, path: rest };
    case 'pipe':
      if (platform === 'linux') throw invalid(field, text, 'is a Windows named pipe: on Linux write unix:PATH');
      return parsePipe(trimmed, rest, field);
    case 'fd': {
      const fd = /^\d{1,9}$/.test(rest) ? Number(rest) : NaN;
      if (role !== 'listen') throw invalid(field, text, 'is an inherited listening socket, which only a listen end can be');
      if (!(fd >= 0 && fd <= 0x7fffffff)) throw invalid(field, text, 'must be fd:N, N a file descriptor number (systemd passes 3 onwards)');
      return { kind: 'fd', text: trimmed, fd };
    }
    case 'vm':
      if (trimmed.slice(0, VM_NAME_PREFIX.length).toLowerCase() === VM_NAME_PREFIX) {
        if (platform === 'linux') throw invalid(field, text, 'names a Hyper-V VM, which only a Windows host can look up: from a Linux guest the host is parent');
        if (role === 'listen') throw invalid(field, text, `names one VM, which a listener cannot be: listen on any:${rest.slice(rest.lastIndexOf(':') + 1)} and allow vm:${rest.slice(0, rest.lastIndexOf(':'))}`);
        return parseVm(trimmed, rest, field);
      }
      break;
    default:
      break;
  }
  return parseHvsock(trimmed, role, field, platform);
}

/** A TCP address as ends write it: "tcp:127.0.0.1:2222", "tcp:[::1]:2222". */
export function tcpText(address: string, family: string | undefined, port: number | undefined): string {
  return `tcp:${family === 'IPv6' ? `[${address}]` : address}:${port}`;
}

/** Ends whose peers have an hvsock address, which an allowlist can name. */
export function isHvsockEnd(end: ForwardEnd): boolean {
  return end.kind === 'hvsock' || end.kind === 'fd';
}
