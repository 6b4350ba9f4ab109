// Sends a file to receive-file.mjs, with a progress line, and checks the
// SHA-256 the receiver computed against its own.
//   node examples/send-file.mjs <file> [address=parent:5001]
// address: [machine:]service as in `hvsock --help` (parent:5001 from a guest,
// <vm-id>:5001 from a host, loopback:5001 on one machine).
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { connect, parseAddress } from 'hvsock';
import { progress } from './progress.mjs';

const [file, address = 'parent:5001'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node examples/send-file.mjs <file> [address=parent:5001]');
  process.exit(2);
}
const size = statSync(file).size;
const hash = createHash('sha256');
const report = progress(`sending ${basename(file)}`, size);

const socket = connect({ ...parseAddress(address), connectTimeout: 10_000, allowHalfOpen: true }, () => {
  // One JSON header line, then the bytes; end of stream ends the file.
  socket.write(`${JSON.stringify({ name: basename(file), size })}\n`);
  const input = createReadStream(file);
  input.on('data', (chunk) => {
    hash.update(chunk);
    report(chunk.length);
  });
  input.pipe(socket);
});
let reply = '';
socket.setEncoding('utf8');
socket.on('data', (text) => (reply += text));
socket.on('end', () => {
  const ours = hash.digest('hex');
  const theirs = reply.trim();
  report.done();
  if (theirs === ours) {
    console.log(`sent ${size} bytes, receiver's SHA-256 matches: ${ours}`);
  } else {
    console.error(`receiver's SHA-256 ${theirs || '(none)'} differs from ours ${ours}`);
    process.exitCode = 1;
  }
});
socket.on('error', (err) => {
  console.error(`send-file: ${err.message}`);
  process.exitCode = 1;
});
