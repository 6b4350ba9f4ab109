// ESM only: the default export is the whole API, as `import hvsock from 'hvsock'` gives it.
import hvsock, { createServer } from 'hvsock';

export const same: boolean = hvsock.createServer === createServer;
