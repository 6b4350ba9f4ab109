// CommonJS only: `import x = require()`, which compiles to a plain require().
import hvsock = require('hvsock');
import host = require('hvsock/host');

export const server: hvsock.Server = hvsock.createServer((socket: hvsock.Socket) => socket.end());
export const code: string = host.ERR_WSL_VM_NOT_FOUND;
