// Receives files from send-file.mjs into a folder, one connection per file,
// with a progress line on stderr, and answers each with the SHA-256 it
// computed.
//   node examples/receive-file.mjs [[machine:]service] [folder] [--once]
// Defaults: any:5001 (every VM, or the host, may send; register 5001 on a
// Hyper-V host first) and the current folder. --once: stop after one file.
//
// It stops at the first failure, with one line on stderr and exit code 1: a
// folder that is missing or not writable (checked before listening, and again
// when a file is opened), a malformed header, a connection that ends before
// the announced size or carries more. The sender is told why (see
// file-header.mjs) and the partial file is removed. A bad command line exits 2.
import { createHash } from 'node:crypto';
import { accessSync, constants, createWriteStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, formatAddress } from 'hvsock';
import { commandLine, explain, explainFsError } from './cli.mjs';
import { encodeReply, parseHeader } from './file-header.mjs';
import { progress } from './progress.mjs';

const cli = commandLine(
  'receive-file',
  'node examples/receive-file.mjs [[machine:]service] [folder] [--once]',
  ['Saves files from send-file.mjs into the folder. Defaults: any:5001 and the current folder. --once: stop after one file.'],
  { flags: ['--once'] },
);
const once = cli.flags.has('--once');
const positional = cli.args;
if (positional.length > 2) cli.usageError('too many arguments');
const [addressText = 'any:5001', folder = '.'] = positional;
const address = cli.address(addressText);

try {
  if (!statSync(folder).isDirectory()) cli.fail(`${folder} is not a folder`);
  accessSync(folder, constants.W_OK);
} catch (error) {
  cli.fail(`cannot write into ${folder} (${explainFsError(error)})`);
}

/** Transfers under way, so that a signal can end them. */
const transfers = new Set();

function receive(socket) {
  if (once) server.close();
  const peer = formatAddress(socket.remoteHvAddress ?? {});
  const hash = createHash('sha256');
  let pending = Buffer.alloc(0); // header bytes until its newline
  let file = null; // { name, size, path, output, report (null until open), early (chunks until open) }
  let received = 0;
  let over = false;

  /** The first failure ends the transfer and, once the sender has heard why, the program. */
  const fail = (reason) => {
    if (over) return;
    over = true;
    transfers.delete(cancel);
    file?.report?.stop();
    console.error(`receive-file: ${reason}`);
    process.exitCode = 1;
    server.close();
    if (file !== null) {
      const { output, path } = file;
      output.destroy();
      output.once('close', () => rmSync(path, { force: true }));
    }
    // Say why on our half of the connection and keep reading (discarding),
    // so the sender reads the reason instead of a bare EPIPE; it hangs up then.
    if (!socket.destroyed) {
      socket.end(encodeReply({ error: reason }));
      socket.resume();
      const giveUp = setTimeout(() => socket.destroy(), 5000);
      socket.once('close', () => clearTimeout(giveUp));
    }
  };
  const cancel = (why) => fail(`${why}; ${file ? `${file.name} from ${peer} is incomplete` : `the transfer from ${peer} stopped`}`);
  transfers.add(cancel);

  const take = (chunk) => {
    if (received + chunk.length > file.size) return fail(`${peer} sent more than the ${file.size} bytes its header announced`);
    received += chunk.length;
    hash.update(chunk);
    file.report.add(chunk.length);
    if (!file.output.write(chunk)) {
      socket.pause();
      file.output.once('drain', () => socket.resume());
    }
  };

  /** Once the sender has ended and the file is open: complete, or say what is missing. */
  let peerEnded = false;
  const completeIfEnded = () => {
    if (over || !peerEnded) return;
    if (file === null) return fail(`${peer} ended the connection ${pending.length > 0 ? 'inside' : 'before'} the file header`);
    if (file.report === null) return; // still opening; this runs again once it is open
    if (received < file.size) return fail(`${file.name} from ${peer} is truncated: ${received} of ${file.size} bytes arrived`);
    file.output.end(() => {
      if (over) return;
      over = true;
      transfers.delete(cancel);
      file.report.finish();
      const digest = hash.digest('hex');
      socket.end(encodeReply({ digest }));
      console.log(`received ${file.name} (${file.size} bytes) from ${peer} into ${folder}: SHA-256 ${digest}`);
    });
  };

  socket.on('data', (chunk) => {
    if (over) return;
    if (file?.report === null) return file.early.push(chunk);
    if (file !== null) return take(chunk);
    pending = Buffer.concat([pending, chunk]);
    let header;
    try {
      header = parseHeader(pending);
    } catch (error) {
      return fail(`malformed file header from ${peer}: ${error.message}`);
    }
    if (header === null) return;
    // Nothing more is taken until the file is open: a file that cannot be
    // written fails before any progress is shown. (A paused socket still
    // reports the sender's end, as node:net's does: completeIfEnded waits.)
    socket.pause();
    const path = join(folder, header.name);
    const output = createWriteStream(path);
    file = { name: header.name, size: header.size, path, output, report: null, early: [header.rest] };
    output.on('error', (error) => fail(`cannot write ${path} (${explainFsError(error)})`));
    output.once('ready', () => {
      if (over) return;
      file.report = progress(`receiving ${header.name}`, header.size);
      for (const chunk of file.early.splice(0)) if (!over && chunk.length > 0) take(chunk);
      if (!over && !output.writableNeedDrain) socket.resume();
      completeIfEnded();
    });
  });

  socket.on('end', () => {
    peerEnded = true;
    completeIfEnded();
  });

  socket.on('error', (error) => fail(`the connection from ${peer} failed: ${explain(error)}`));
  socket.on('close', () => fail(`the connection from ${peer} closed early`));
}

const server = createServer({ allowHalfOpen: true }, receive);
server.on('error', (error) => {
  console.error(`receive-file: ${explain(error)}`);
  process.exitCode = 1;
});
try {
  server.listen(address, () => console.log(`receiving files on ${formatAddress(server.address())} into ${folder}`));
} catch (error) {
  cli.fail(explain(error));
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    for (const cancel of transfers) cancel(`interrupted by ${signal}`);
  });
}
