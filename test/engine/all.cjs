// The whole engine suite in one process: Windows node under Wine starts
// slowly, and one process per file would pay that each time.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// HVSOCK_ENGINE_FILES (run.mjs's file names, comma-separated) narrows it to those files.
const only = (process.env.HVSOCK_ENGINE_FILES || '').split(',').filter(Boolean);
const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.cjs')).sort();
const chosen = only.length === 0 ? files : files.filter((f) => only.includes(f.replace(/\.test\.cjs$/, '')));
const unknown = only.filter((name) => !files.includes(`${name}.test.cjs`));
if (unknown.length > 0) throw new Error(`HVSOCK_ENGINE_FILES names files that are not here: ${unknown.join(', ')}`);
for (const file of chosen) {
  require(path.join(__dirname, file));
}
