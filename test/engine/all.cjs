// The whole engine suite in one process: Windows node under Wine starts
// slowly, and one process per file would pay that each time.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.cjs')).sort()) {
  require(path.join(__dirname, file));
}
