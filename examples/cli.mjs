// What every example does with its command line and its failures, so that
// they all read the same: the address is always the first argument, in the
// short form [machine:]service that `hvsock --help` and parseAddress() use;
// --help prints the usage; a failure is one line on stderr, never a stack
// trace, with exit code 1 (2 for a bad command line).
import { parseAddress } from 'hvsock';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const ADDRESS_HELP =
  'An address is [machine:]service, as in `hvsock --help`: machine is a CID, a VM ID, or loopback, parent, any, children, wsl;\n' +
  'service is a port (5000) or a service GUID. E.g. any:5000, parent:5000, loopback:5000, <vm-id>:5000.';

/** What the usual socket errors mean for someone running an example. */
const HINTS = {
  ECONNREFUSED: 'nothing listens there',
  ECONNRESET: 'the peer went away',
  EPIPE: 'the peer went away',
  ETIMEDOUT: 'no answer: is the machine running, and on a Hyper-V host is the service registered?',
  EACCES: 'not permitted: on a Hyper-V host, register the service first (npx hvsock service register)',
  EADDRINUSE: 'something else listens there already',
  EAFNOSUPPORT: 'this machine has no Hyper-V sockets or vsock',
};

/** An error as one line: its message, and what it usually means. */
export function explain(error) {
  const text = String(error?.message ?? error).split('\n')[0];
  const hint = HINTS[error?.code];
  return hint ? `${text} (${hint})` : text;
}

/** A file-system error without the path Node appends: "ENOENT: no such file or directory". */
export function explainFsError(error) {
  return String(error?.message ?? error).replace(/, \w+ '.*'$/s, '');
}

/**
 * The command line of one example. `usage` is everything after "usage: ";
 * --help / -h prints it and the `details` lines, and exits 0, before anything
 * else happens (no socket is opened). `flags` are the options the example
 * takes (e.g. ['--once']); any other argument starting with "-" is a usage
 * error, exit 2. After "--" every argument is taken as it is (a message that
 * starts with "-"). Returns `args`, the other arguments, and `flags`, the set
 * of flags given.
 */
export function commandLine(name, usage, details = [], { flags: known = [] } = {}) {
  const all = process.argv.slice(2);
  const end = all.indexOf('--');
  const options = end < 0 ? all : all.slice(0, end);
  if (options.includes('--help') || options.includes('-h')) {
    console.log([`usage: ${usage}`, ...details, ADDRESS_HELP].join('\n'));
    process.exit(0);
  }
  const usageError = (reason) => {
    console.error(`${name}: ${reason}; usage: ${usage}`);
    process.exit(EXIT_USAGE);
  };
  const flags = new Set();
  const args = [];
  for (const arg of options) {
    if (known.includes(arg)) flags.add(arg);
    else if (arg.startsWith('-') && arg !== '-') usageError(`unknown option ${arg}`);
    else args.push(arg);
  }
  if (end >= 0) args.push(...all.slice(end + 1));
  return {
    args,
    flags,
    usageError,
    /** parseAddress(), with a malformed address as a usage error. */
    address(text) {
      try {
        return parseAddress(text);
      } catch (error) {
        // parseAddress says what is wrong in Node's words ("The argument 'address' ... Received ..."): keep the middle.
        const why = String(error?.message).replace(/^The argument '\w+' /, '').replace(/\. Received .*$/s, '');
        return usageError(`bad address ${JSON.stringify(text)}: it ${why}`);
      }
    },
    /** One line on stderr and exit 1: for failures after which there is nothing left to do. */
    fail(reason) {
      console.error(`${name}: ${reason}`);
      process.exit(EXIT_FAILURE);
    },
  };
}
