// The forward suite in one process (Windows node under Wine starts slowly):
// hvsock forward between TCP, unix-socket and named-pipe ends, with real
// peers. It never opens a vsock connection; test/vm/forward.test.ts covers
// the hvsock ends inside the QEMU guest.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.cjs')).sort()) require(path.join(__dirname, file));
