// hvsock/http: node:http, node:https, fetch/undici and servers over hvsock.
export { HvAgent, HvsAgent, type HvAgentOptions, type HvsAgentOptions, type HvDialOptions } from './agent.js';
export { hvsockDispatcher, ERR_HVSOCK_UNDICI_MISSING, type HvDispatcherOptions } from './dispatcher.js';
export { serve, type ConnectionServer } from './serve.js';
export type { TargetResolver } from './target.js';
