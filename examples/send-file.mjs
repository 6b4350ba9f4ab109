// Sends one file to receive-file.mjs, with a progress line on stderr, and
// checks the SHA-256 the receiver computed against its own.
//   node examples/send-file.mjs <[machine:]service> <file>
// The address is the receiver's, in the short form of `hvsock --help`:
// parent:5001 from a guest to its host, <vm-id>:5001 from a host to a VM,
// loopback:5001 on one machine. Any failure (nothing listening, the receiver
// refusing the file or going away mid-transfer, a SHA-256 mismatch) is one
// line on stderr and exit code 1; a bad command line exits 2.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { connect, formatAddress } from 'hvsock';
import { commandLine, explain, explainFsError } from './cli.mjs';
import { encodeHeader, parseReply } from './file-header.mjs';
import { progress } from './progress.mjs';

const cli = commandLine('send-file', 'node examples/send-file.mjs <[machine:]service> <file>', [
  "Sends the file to receive-file.mjs at that address and checks the receiver's SHA-256. E.g. parent:5001 ./big.iso",
]);
if (cli.args.length !== 2) cli.usageError(cli.args.length < 2 ? 'needs the receiver\'s address and a file' : 'too many arguments');
const [addressText, file] = cli.args;
const address = cli.address(addressText);

let size;
try {
  const stat = statSync(file);
  if (!stat.isFile()) cli.fail(`${file} is not a file`);
  size = stat.size;
} catch (error) {
  cli.fail(`cannot read ${file} (${explainFsError(error)})`);
}

const name = basename(file);
const hash = createHash('sha256');
const report = progress(`sending ${name}`, size);
let input = null;
let sentAll = false;

/** Stops everything at the first failure: no more progress, one line, exit 1. */
function fail(reason) {
  report.stop();
  input?.destroy();
  socket?.destroy();
  cli.fail(reason);
}

let socket;
try {
  socket = connect({ ...address, connectTimeout: 10_000, allowHalfOpen: true });
} catch (error) {
  cli.fail(explain(error)); // e.g. no native binary, or an address this OS cannot use
}
/** The receiver as the short form prints it, once connected; before, as given. */
const receiver = () => formatAddress(socket.remoteHvAddress ?? {}) || addressText;

socket.on('connect', () => {
  socket.write(encodeHeader(name, size));
  input = createReadStream(file);
  // Progress counts what the socket took; backpressure keeps that close to what was sent.
  input.on('data', (chunk) => {
    hash.update(chunk);
    report.add(chunk.length);
    if (!socket.write(chunk)) {
      input.pause();
      socket.once('drain', () => input.resume());
    }
  });
  input.on('error', (error) => fail(`reading ${file} failed (${explainFsError(error)})`));
  input.on('end', () => {
    sentAll = true;
    socket.end();
  });
});

let replyText = '';
socket.setEncoding('utf8');
socket.on('data', (text) => {
  replyText += text;
  const reply = parseReply(replyText);
  if (reply?.error !== undefined) fail(`the receiver at ${receiver()} refused the file: ${reply.error}`);
});
socket.on('end', () => {
  const reply = parseReply(replyText);
  if (!sentAll || reply === null) {
    fail(`the receiver at ${receiver()} closed the connection ${sentAll ? 'without confirming the file' : 'before the file was sent'}`);
  }
  const ours = hash.digest('hex');
  if (reply.digest !== ours) fail(`the receiver's SHA-256 ${reply.digest || '(none)'} differs from ours ${ours}`);
  report.finish();
  console.log(`sent ${name} (${size} bytes) to ${receiver()}; the receiver's SHA-256 matches: ${ours}`);
});
socket.on('error', (error) => fail(explain(error)));
