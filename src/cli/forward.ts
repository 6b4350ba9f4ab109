// `hvsock forward <listen> <target> [<listen> <target> ...]` and
// `hvsock forward --config forwards.json`: the forward rules of
// hvsock/forward run as a service. Every rule is checked before any listens
// (a bad one is one line and exit 2); a failed connection is always one line;
// --verbose adds one per connection; --json writes the same as JSON lines on
// stdout. SIGUSR1 (and --stats-interval) print the counters; SIGINT/SIGTERM
// drain, and a second one resets what is left.
import fs from 'node:fs';
import { currentPlatform } from '../address/address.js';
import { Forwarder, type ForwardRecord, type ForwardStats } from '../forward/forwarder.js';
import { readForwardConfig } from '../forward/config.js';
import { readForwardOptions, type ForwardOptions } from '../forward/options.js';
import { isHvsockEnd, parseEnd, tcpText } from '../forward/ends.js';
import { formatAddress } from '../address/names.js';
import { allowListText } from '../forward/peers.js';
import type { OptionValues } from './command-line.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';
import { failureText } from './messages.js';
import { UsageError } from './usage.js';
import { wslRestartLine } from './wsl.js';
import type { HvSocketAddress } from '../address/address.js';

const COMMAND = 'forward';

export interface ForwardIo {
  /** A text line on stderr; the caller prefixes it with "hvsock forward: ". */
  log: (text: string) => void;
  /** A JSON line on stdout. */
  out: (text: string) => void;
  /** Where SIGINT/SIGTERM/SIGUSR1 come from (process, or a test's emitter). */
  signals: Pick<NodeJS.Process, 'on' | 'removeListener'>;
}

export interface ForwardPlan {
  options: ForwardOptions[];
  verbose: boolean;
  json: boolean;
  statsIntervalMs: number;
}

/** Options that shape each rule: on the command line they apply to every pair; with --config the file says them. */
const RULE_FLAGS = ['allow', 'max-connections', 'connect-timeout', 'wait', 'idle-timeout', 'drain-timeout'] as const;

function seconds(values: OptionValues, name: string, min: number): number | undefined {
  const text = values[name as keyof OptionValues] as string | undefined;
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < min || value > 1_000_000) {
    throw new UsageError(`--${name} must be a number of seconds from ${min} to 1000000, got "${text}"`, COMMAND, COMMAND);
  }
  return Math.round(value * 1000);
}

function count(values: OptionValues, name: string): number | undefined {
  const text = values[name as keyof OptionValues] as string | undefined;
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new UsageError(`--${name} must be a whole number from 1 to 1000000, got "${text}"`, COMMAND, COMMAND);
  return Number(text);
}

/** The rules from the file or the command line, checked: a UsageError (exit 2) says which and why. */
export function planForward(args: readonly string[], values: OptionValues, platform: NodeJS.Platform = process.platform): ForwardPlan {
  const addressPlatform = platform === 'linux' || platform === 'win32' ? platform : currentPlatform();
  const statsIntervalMs = seconds(values, 'stats-interval', 1) ?? 0;
  const plan = { verbose: values.verbose === true, json: values.json === true, statsIntervalMs };
  if (values.config !== undefined) {
    if (args.length > 0) throw new UsageError(`takes rules from --config or from the command line, not both (got "${args[0]}" too)`, COMMAND, COMMAND);
    const flag = RULE_FLAGS.find((name) => values[name] !== undefined);
    if (flag !== undefined) throw new UsageError(`--${flag} shapes rules given on the command line; with --config, set it on each rule in the file`, COMMAND, COMMAND);
    const file = values.config as string;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, COMMAND);
    }
    try {
      return { ...plan, options: readForwardConfig(text, file, addressPlatform).options };
    } catch (error) {
      throw new UsageError((error as Error).message, COMMAND);
    }
  }
  if (args.length === 0) throw new UsageError('needs a <listen> <target> pair, or --config <file>', COMMAND, COMMAND);
  if (args.length % 2 !== 0) throw new UsageError(`"${args[args.length - 1]}" has no target: give <listen> <target> pairs`, COMMAND, COMMAND);
  const shared: Partial<ForwardOptions> = {};
  if (values.allow !== undefined) shared.allow = values.allow as string;
  const max = count(values, 'max-connections');
  if (max !== undefined) shared.maxConnections = max;
  const connectTimeout = seconds(values, 'connect-timeout', 0.001);
  if (connectTimeout !== undefined) shared.connectTimeout = connectTimeout;
  const redial = seconds(values, 'wait', 0);
  if (redial !== undefined) shared.redial = redial;
  const idleTimeout = seconds(values, 'idle-timeout', 0);
  if (idleTimeout !== undefined) shared.idleTimeout = idleTimeout;
  const drainTimeout = seconds(values, 'drain-timeout', 0);
  if (drainTimeout !== undefined) shared.drainTimeout = drainTimeout;
  const options: ForwardOptions[] = [];
  let hvsockListens = 0;
  for (let i = 0; i < args.length; i += 2) {
    const rule: ForwardOptions = { listen: args[i] as string, target: args[i + 1] as string, ...shared };
    try {
      // --allow names hvsock peers; a pair whose listen end has none takes the other flags only.
      if (!isHvsockEnd(parseEnd(rule.listen, 'listen', 'rule.listen', addressPlatform))) delete rule.allow;
      else hvsockListens++;
      readForwardOptions(rule, 'rule', addressPlatform);
    } catch (error) {
      throw new UsageError(ruleProblem(error, rule, i / 2 + 1, args.length / 2), COMMAND, COMMAND);
    }
    options.push(rule);
  }
  if (shared.allow !== undefined && hvsockListens === 0) {
    throw new UsageError('--allow filters the peers of an hvsock listen end, and no listen end here is one (a tcp: end binds 127.0.0.1 unless given a host)', COMMAND, COMMAND);
  }
  return { ...plan, options };
}

/** "forward 2 (tcp:2222 any:22): any:22 … --allow is missing": the API's message in the CLI's words. */
function ruleProblem(error: unknown, rule: ForwardOptions, index: number, total: number): string {
  const which = total > 1 ? `forward ${index} (${rule.listen} ${rule.target}): ` : '';
  const message = (error as Error).message
    .replace(/^rule\.allow is required: /, '--allow is required: ')
    .replace(/^The property 'rule\.allow' (.*)\. Received .*$/s, '--allow "' + String(rule.allow) + '" $1')
    .replace(/^The property 'rule\.(listen|target)' (.*)\. Received .*$/s, (_, end: 'listen' | 'target', reason: string) => `${end} "${rule[end]}" ${reason}`)
    .replace(/^The property 'rule\.(\w+)' /, (_, name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} `)
    .replace(/--redial /, '--wait ');
  return `${which}${message}`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function errorJson(error: Error | undefined): { code?: string; message: string } | undefined {
  if (error === undefined) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  return { ...(code === undefined ? {} : { code }), message: failureText(error) };
}

/** Where each rule's listen end is, as users write it: "tcp:127.0.0.1:2222", "any:5000", "unix:/run/x.sock". */
function listeningText(forwarder: Forwarder): string {
  const address = forwarder.address();
  if (address === null) return forwarder.rule.listen.text;
  if (typeof address === 'string') return `${forwarder.rule.listen.kind}:${address}`;
  if ('family' in address && (address.family === 'AF_VSOCK' || address.family === 'AF_HYPERV')) return formatAddress(address);
  const tcp = address as { address: string; port: number; family: string };
  return tcpText(tcp.address, tcp.family, tcp.port);
}

/** The one line a finished connection gets: always for a failure, with --verbose for every one. */
export function recordText(record: ForwardRecord): string {
  const head = `${record.rule}: #${record.id} ${record.peer} -> ${record.target}`;
  const took = `${(record.durationMs / 1000).toFixed(2)} s`;
  const moved = `${size(record.bytesIn)} in, ${size(record.bytesOut)} out`;
  const why = record.error === undefined ? '' : `: ${failureText(record.error)}`;
  switch (record.outcome) {
    case 'failed': {
      const attempts = (record.error as { attempts?: number } | undefined)?.attempts;
      const tries = attempts !== undefined && attempts > 1 ? ` (${attempts} attempts)` : '';
      return record.side === 'client'
        ? `${head} gave up: the client left after ${took}, before the target answered`
        : `${head} failed: cannot reach ${record.target}${why}${tries}`;
    }
    case 'reset':
      return `${head} reset by the ${record.side ?? 'peer'} after ${took}, ${moved}${why}`;
    case 'idle':
      return `${head} closed after ${took} idle timeout, ${moved}`;
    case 'cut':
      return `${head} reset by the forward closing after ${took}, ${moved}`;
    default:
      return `${head} closed after ${took}, ${moved}`;
  }
}

function statsText(rule: string, stats: ForwardStats): string {
  return `${rule}: active ${stats.active}, total ${stats.total}, refused ${stats.refused}, errors ${stats.errors}, in ${size(stats.bytesIn)}, out ${size(stats.bytesOut)}`;
}

/** Runs the plan until SIGINT/SIGTERM (exit 0 once drained) or a listen end fails to open (its exit code). */
export function runForward(plan: ForwardPlan, io: ForwardIo): Promise<number> {
  return new Promise((resolve) => {
    const say = (event: string, fields: Record<string, unknown>, text: string): void => {
      if (plan.json) io.out(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
      else io.log(text);
    };
    const forwarders = plan.options.map((options) => new Forwarder(options));
    let waiting = forwarders.length;
    let stopping = 0;
    let failedCode: number | null = null;
    const printStats = (): void => {
      for (const f of forwarders) say('stats', { rule: f.rule.name, ...f.stats() }, statsText(f.rule.name, f.stats()));
    };
    const timer = plan.statsIntervalMs > 0 ? setInterval(printStats, plan.statsIntervalMs) : undefined;
    const stop = (signal: string): void => {
      stopping++;
      if (stopping === 1) {
        const live = forwarders.reduce((n, f) => n + f.stats().active, 0);
        const drain = Math.max(...forwarders.map((f) => f.rule.drainTimeout)) / 1000;
        say('draining', { signal, active: live }, `${signal}: closing; ${live} connection${live === 1 ? '' : 's'} may finish for up to ${drain} s (${signal} again: reset them now)`);
        void Promise.all(forwarders.map((f) => f.close())).then(finish);
      } else {
        say('cutting', { signal }, `${signal} again: resetting what is left`);
        for (const f of forwarders) void f.close(0);
      }
    };
    const onSigint = (): void => stop('SIGINT');
    const onSigterm = (): void => stop('SIGTERM');
    const onSigusr1 = (): void => printStats();
    io.signals.on('SIGINT', onSigint);
    io.signals.on('SIGTERM', onSigterm);
    if (process.platform !== 'win32') io.signals.on('SIGUSR1', onSigusr1);
    const finish = (): void => {
      if (timer !== undefined) clearInterval(timer);
      io.signals.removeListener('SIGINT', onSigint);
      io.signals.removeListener('SIGTERM', onSigterm);
      io.signals.removeListener('SIGUSR1', onSigusr1);
      if (failedCode === null) {
        printStats();
        say('closed', {}, 'closed');
      }
      resolve(failedCode ?? EXIT_OK);
    };
    for (const f of forwarders) {
      const rule = f.rule.name;
      f.once('listening', () => {
        const allow = f.rule.allow === undefined ? undefined : allowListText(f.rule.allow);
        say(
          'listening',
          { rule, listen: listeningText(f), target: f.rule.target.text, ...(allow === undefined ? {} : { allow }) },
          `${rule}: listening on ${listeningText(f)}, forwarding to ${f.rule.target.text}${allow === undefined ? '' : ` for peers ${allow}`}`,
        );
        if (--waiting === 0 && plan.json) io.out(JSON.stringify({ time: new Date().toISOString(), event: 'ready', rules: forwarders.length }));
      });
      f.on('error', (error) => {
        say('error', { rule, error: errorJson(error) }, `${rule}: ${f.listening ? '' : `cannot listen on ${f.rule.listen.text}: `}${failureText(error)}`);
        if (f.listening) return;
        // A listen end that cannot open stops the whole command: half a set of forwards is a surprise.
        failedCode ??= exitCodeFor(error);
        stopping = 2;
        void Promise.all(forwarders.map((other) => other.close(0))).then(finish);
      });
      f.on('wsldown', (error) => say('wsldown', { rule, error: errorJson(error) }, `${rule}: waiting for WSL 2 (${error.message})`));
      f.on('wslrestart', ({ previousVmId }) => say('wslrestart', { rule, previousVmId, listen: listeningText(f) }, `${rule}: ${wslRestartLine(f.address() as HvSocketAddress, previousVmId)}`));
      f.on('refused', (refusal) => say('refused', { ...refusal }, `${rule}: refused #${refusal.id}: ${refusal.message}`));
      if (plan.verbose) {
        f.on('connection', (c) => say('connection', { ...c }, `${rule}: #${c.id} ${c.peer} connected, dialing ${f.rule.target.text}`));
        f.on('retry', (r) => say('retry', { rule, id: r.id, peer: r.peer, attempt: r.attempt, delayMs: r.delay, error: errorJson(r.error) }, `${rule}: #${r.id} ${f.rule.target.text} not there (${failureText(r.error)}); retrying in ${(r.delay / 1000).toFixed(1)} s`));
      }
      f.on('end', (record) => {
        if (!plan.verbose && record.outcome === 'closed') return;
        if (!plan.verbose && record.outcome === 'failed' && record.side === 'client') return;
        const { error, ...rest } = record;
        say('end', { ...rest, durationMs: Math.round(record.durationMs), ...(error === undefined ? {} : { error: errorJson(error) }) }, recordText(record));
      });
    }
  });
}
