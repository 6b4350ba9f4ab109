// Prints how many tests the given node:test files declare, and how many of
// them are skipped, as {"tests":N,"skipped":S}, without running any: with
// `node:test` replaced by a recorder, requiring a file only builds its tree.
// The dist suite compares a real run's summary with this, so a run that
// loaded nothing, or stopped early, cannot pass for a clean one.
//
// It counts as node:test's spec summary does: every it()/test() is a test
// (suites are not), a skipped suite's tests are not counted at all, and a
// test with `skip` (or `todo`) set is counted and reported as skipped (todo).
'use strict';
const Module = require('node:module');
const path = require('node:path');

const counts = { tests: 0, skipped: 0, todo: 0 };
const hooks = () => {};

/** node:test's (name?, options?, fn?) in any combination. */
function parse(args) {
  const options = args.find((a) => typeof a === 'object' && a !== null) ?? {};
  const fn = args.find((a) => typeof a === 'function');
  return { options, fn };
}

function test(...args) {
  const { options } = parse(args);
  counts.tests++;
  if (options.skip) counts.skipped++;
  else if (options.todo) counts.todo++;
}

function describe(...args) {
  const { options, fn } = parse(args);
  if (options.skip || options.todo) return;
  fn?.({ name: String(args[0]), diagnostic() {} });
}

const recorder = { test, it: test, describe, suite: describe, before: hooks, after: hooks, beforeEach: hooks, afterEach: hooks };
recorder.default = recorder;
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'node:test' || request === 'test') return recorder;
  return load.call(this, request, ...rest);
};

for (const file of process.argv.slice(2)) require(path.resolve(file));
process.stdout.write(`${JSON.stringify(counts)}\n`);
// Files may open handles while loading (the addon, a GC flag): leave now.
process.exit(0);
