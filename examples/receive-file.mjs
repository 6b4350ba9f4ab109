// Receives files from send-file.mjs into a directory, one connection per
// file, with a progress line, and answers each with the SHA-256 it computed.
//   node examples/receive-file.mjs [address=any:5001] [directory=.] [--once]
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createServer, parseAddress } from 'hvsock';
import { progress } from './progress.mjs';

const args = process.argv.slice(2);
const once = args.includes('--once');
const [address = 'any:5001', directory = '.'] = args.filter((a) => a !== '--once');

const server = createServer({ allowHalfOpen: true }, (socket) => {
  if (once) server.close();
  let header = '';
  let output = null;
  let report = null;
  const hash = createHash('sha256');
  socket.on('data', function onData(chunk) {
    if (output === null) {
      header += chunk.toString('latin1');
      const newline = header.indexOf('\n');
      if (newline < 0) return;
      const { name, size } = JSON.parse(header.slice(0, newline));
      // Only the base name: a peer must not choose where we write.
      output = createWriteStream(join(directory, basename(String(name))));
      report = progress(`receiving ${basename(String(name))}`, Number(size));
      chunk = Buffer.from(header.slice(newline + 1), 'latin1');
    }
    hash.update(chunk);
    report(chunk.length);
    if (!output.write(chunk)) {
      socket.pause();
      output.once('drain', () => socket.resume());
    }
  });
  socket.on('end', () => {
    report?.done();
    const digest = hash.digest('hex');
    (output ?? { end: (cb) => cb() }).end(() => socket.end(`${digest}\n`));
    console.log(`received into ${directory}: SHA-256 ${digest}`);
  });
  socket.on('error', (err) => console.error(`receive-file: ${err.message}`));
});
server.on('error', (err) => {
  console.error(`receive-file: ${err.message}`);
  process.exitCode = 1;
});
server.listen(parseAddress(address), () => console.error(`receive-file: listening on ${address}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close());
