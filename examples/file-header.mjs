// The little protocol of send-file.mjs and receive-file.mjs, one connection
// per file:
//   sender → receiver: one JSON line {"name":"<base name>","size":<bytes>},
//                      then exactly that many bytes, then end of stream
//   receiver → sender: one line, the SHA-256 (hex) of what it stored,
//                      or "error <why>" when it could not store the file
import { basename } from 'node:path';

/** A header longer than this without its newline is not one of ours. */
const MAX_HEADER_BYTES = 4096;
const ERROR_PREFIX = 'error ';

export function encodeHeader(name, size) {
  return `${JSON.stringify({ name, size })}\n`;
}

/**
 * The header at the start of `bytes`: { name, size, rest } (rest: the bytes
 * after it), or null while its newline has not arrived. Throws an Error
 * saying what is wrong when the bytes cannot be a header.
 */
export function parseHeader(bytes) {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) {
    if (bytes.length > MAX_HEADER_BYTES) throw new Error(`no header line within the first ${MAX_HEADER_BYTES} bytes`);
    return null;
  }
  let header;
  try {
    header = JSON.parse(bytes.subarray(0, newline).toString('utf8'));
  } catch {
    throw new Error('the header line is not JSON');
  }
  const { name, size } = header ?? {};
  // Only a base name: the sender must not choose where the file is written.
  if (typeof name !== 'string' || basename(name) !== name || name === '' || name === '.' || name === '..' || name.includes('\\')) {
    throw new Error(`the header's name ${JSON.stringify(name)} is not a plain file name`);
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new Error(`the header's size ${JSON.stringify(size)} is not a byte count`);
  }
  return { name, size, rest: bytes.subarray(newline + 1) };
}

export function encodeReply({ digest, error }) {
  return error === undefined ? `${digest}\n` : `${ERROR_PREFIX}${error.replace(/\n/g, ' ')}\n`;
}

/** The receiver's reply once its newline is in: { digest } or { error }; null before. */
export function parseReply(text) {
  const newline = text.indexOf('\n');
  if (newline < 0) return null;
  const line = text.slice(0, newline);
  return line.startsWith(ERROR_PREFIX) ? { error: line.slice(ERROR_PREFIX.length) } : { digest: line.trim() };
}
