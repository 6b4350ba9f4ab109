// Every test starts without servers left over from the one before it.
import { afterEach } from 'vitest';
import { closeAllServers } from './helpers.js';

afterEach(closeAllServers);
