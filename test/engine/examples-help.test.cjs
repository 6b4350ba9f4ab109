// Every example's command line, without any connection: --help and -h print
// the usage and nothing else (exit 0), an unknown option or a stray argument
// is one line naming it with the usage (exit 2). The examples run with a
// binding that cannot open sockets (fixtures/no-socket-binding.cjs), so an
// example that went on to connect fails the test (exit 99) instead of
// reaching anything. What the examples do over vsock is test/vm/examples.test.ts.
'use strict';
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const GUARD = path.join(__dirname, 'fixtures', 'no-socket-binding.cjs');
const underWine = process.platform === 'win32' && process.env.HVSOCK_EXPECT_NO_HYPERV === '1';
// Defined only where it means something, so that no run reports it skipped
// (a Wine run may skip only what needs real AF_HYPERV, test/dist): not under
// Wine (plain JavaScript, the same on every OS, and Windows node starts
// slowly there), and not where the suite runs from the installed tarball
// (test:dist), which has no examples/: they are the repository's, not the package's.
const defined = !underWine && fs.existsSync(EXAMPLES);

/** name → the words its usage line starts with, and one stray argument it refuses. */
const PROGRAMS = {
  'echo-client.mjs': { usage: 'node examples/echo-client.mjs [[machine:]service] [--] [message...]' },
  'echo-server.mjs': { usage: 'node examples/echo-server.mjs [[machine:]service]', stray: ['any:5000', 'extra'] },
  'echo-demo.mjs': { usage: 'node examples/echo-demo.mjs', stray: ['extra'] },
  'receive-file.mjs': { usage: 'node examples/receive-file.mjs [[machine:]service] [folder] [--once]', stray: ['any:5001', '.', 'extra'] },
  'send-file.mjs': { usage: 'node examples/send-file.mjs <[machine:]service> <file>', stray: ['loopback:5001', 'a', 'b'] },
};

function run(name, args) {
  const r = spawnSync(process.execPath, [path.join(EXAMPLES, name), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, HVSOCK_ADDON_PATH: GUARD },
  });
  if (r.error) throw r.error;
  return r;
}

if (defined) describe('examples: the command line, no connection', () => {
  for (const [name, { usage, stray }] of Object.entries(PROGRAMS)) {
    for (const flag of ['--help', '-h']) {
      it(`${name} ${flag}: the usage on stdout and nothing else, exit 0`, () => {
        const r = run(name, [flag]);
        assert.equal(r.stderr, '');
        assert.equal(r.status, 0);
        const lines = r.stdout.trimEnd().split('\n');
        assert.equal(lines[0], `usage: ${usage}`);
        assert.match(r.stdout, /An address is \[machine:\]service/);
        assert.doesNotMatch(r.stdout, /^(echo server listening|receiving files|connected|demo: |\[server\]|\[client\])/m);
      });
    }

    it(`${name}: --help wins over whatever else is on the line`, () => {
      const r = run(name, ['loopback:5000', '--help']);
      assert.equal([r.status, r.stderr].join('|'), '0|');
      assert.match(r.stdout, /^usage: /);
    });

    it(`${name} --bogus: a usage error naming the option, exit 2`, () => {
      const r = run(name, ['--bogus']);
      assert.equal(r.stdout, '');
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `${name.replace('.mjs', '')}: unknown option --bogus; usage: ${usage}\n`);
    });

    if (stray !== undefined) {
      it(`${name} with a stray argument: a usage error, exit 2`, () => {
        const r = run(name, stray);
        assert.equal(r.stdout, '');
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`^${name.replace('.mjs', '')}: .*; usage: `));
      });
    }
  }

  it('the guard works: an example that does open a socket fails with exit 99', () => {
    // echo-server listens at once: with the guard it cannot, and says so.
    const r = run('echo-server.mjs', ['any:5000']);
    assert.equal(r.status, 99);
    assert.match(r.stderr, /no-socket-binding: the program tried to open a socket/);
  });
});
