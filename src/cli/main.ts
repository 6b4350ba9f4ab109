#!/usr/bin/env node
// The `hvsock` command: talk over Hyper-V sockets from a shell. Reads the
// command line against the command table (command-line.ts), checks each
// value, refuses a Windows-host command elsewhere, and only then runs
// anything. Every message is one line starting "hvsock <command>:".
import { countOption, runBench } from './bench.js';
import { readConnectTarget, runConnect, runListen, waitOption } from './bridge.js';
import { readCommandLine, NoCommandError, type CommandLine } from './command-line.js';
import { readAddress } from './addresses.js';
import { runDoctor } from './doctor.js';
import { runEcho } from './echo.js';
import { planForward, runForward } from './forward.js';
import { HELP } from './help.js';
import { failureText } from './messages.js';
import { runSelftestCommand } from './selftest.js';
import { nameOption, runService, serviceOption } from './service.js';
import { commandPrefix, UsageError } from './usage.js';
import { packageVersion } from '../transport/native.js';
import { nestedSwitch, runVm, vmName } from './vm.js';
import { runWslId } from './wsl.js';
import { EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, exitCodeFor } from './exit-codes.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface MainOptions {
  /** The OS to act as: Windows-host commands run on win32 only. */
  platform?: NodeJS.Platform;
}

type RunLine = Extract<CommandLine, { kind: 'run' }>;

/**
 * Checks the command's values and returns what runs it: every usage error is
 * thrown here, before the platform is looked at and before any socket exists.
 */
function prepare(line: RunLine, io: Io, platform: NodeJS.Platform): () => Promise<number> | number {
  const { path, values, args } = line;
  const json = values.json === true;
  const log = (text: string): void => io.err(`${commandPrefix(path)}${text}`);
  const bridgeIo = { stdin: process.stdin, stdout: process.stdout, log };
  const text = args[0] as string;
  switch (path) {
    case 'listen': {
      const target = readAddress(text, 'listen', path, platform);
      return () => runListen(target, bridgeIo, values['keep-open'] === true);
    }
    case 'connect': {
      const target = readConnectTarget(text, path, platform);
      const waitMs = waitOption(values.wait as string | undefined, path);
      return () => runConnect(target, bridgeIo, waitMs);
    }
    case 'forward': {
      const plan = planForward(args, values, platform);
      const forwardIo = { log, out: io.out, signals: process };
      return () => runForward(plan, forwardIo);
    }
    case 'echo': {
      const target = readAddress(text, 'listen', path, platform);
      return () => runEcho(target, { out: io.out, log }, json);
    }
    case 'bench': {
      const target = readAddress(text, 'connect', path, platform);
      const mib = countOption(values.mib as string | undefined, 64, 'mib');
      const rounds = countOption(values.rounds as string | undefined, 1000, 'rounds');
      return () => runBench(text, target, { mib, rounds, json }, io.out);
    }
    case 'doctor':
      return () => runDoctor(json, io.out);
    case 'selftest':
      return () => runSelftestCommand(json, io.out, process.stderr.isTTY ? io.err : undefined);
    case 'service register': {
      if (values.name === undefined) throw new UsageError('needs --name <name>', path, 'service');
      const name = nameOption(values.name as string, path);
      const serviceId = values['service-id'] === undefined ? undefined : serviceOption(values['service-id'] as string, '--service-id', path);
      return () => runService({ action: 'register', name, serviceId, json }, io.out);
    }
    case 'service list':
      return () => runService({ action: 'list', json }, io.out);
    case 'service unregister': {
      const serviceId = serviceOption(text, 'the service', path);
      return () => runService({ action: 'unregister', serviceId }, io.out);
    }
    case 'vm list':
      return () => runVm({ action: 'list', json }, io.out);
    case 'vm id': {
      const name = vmName(text, path);
      return () => runVm({ action: 'id', name, json }, io.out);
    }
    case 'vm nested': {
      const name = vmName(text, path);
      const enable = nestedSwitch(values.enable === true, values.disable === true, path);
      return () => runVm({ action: 'nested', name, enable, json }, io.out);
    }
    case 'wsl id':
      return () => runWslId(json, { out: io.out, log });
    default:
      // The command table and this switch disagree: a bug, not a user's mistake.
      throw new Error(`no runner for "${path}"`);
  }
}

/**
 * Checks a command line as main() would before running it, for `platform`,
 * and runs nothing: throws the UsageError main() would print (the docs'
 * command examples are checked with it, test/unit/docs/snippets.test.ts).
 */
export function checkCommandLine(argv: string[], platform: NodeJS.Platform): void {
  const line = readCommandLine(argv);
  if (line.kind === 'run') prepare(line, { out: () => undefined, err: () => undefined }, platform);
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function main(argv: string[], io: Io, options: MainOptions = {}): Promise<number> {
  const platform = options.platform ?? process.platform;
  let line: CommandLine;
  let path = '';
  try {
    line = readCommandLine(argv);
    if (line.kind === 'help') {
      io.out(HELP[line.topic] as string);
      return EXIT_OK;
    }
    if (line.kind === 'version') {
      io.out(packageVersion());
      return EXIT_OK;
    }
    path = line.path;
    const start = prepare(line, io, platform);
    // After every usage check (a usage error wins), before anything is tried.
    if (line.spec.windowsOnly !== undefined && platform !== 'win32') {
      io.err(`${commandPrefix(path)}${line.spec.windowsOnly} is a Windows-host command; this machine runs ${platform}`);
      return EXIT_UNAVAILABLE;
    }
    return await start();
  } catch (error) {
    if (error instanceof NoCommandError) {
      io.err(`hvsock: no command given\n\n${HELP['']}`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      io.err(error.line);
      return EXIT_USAGE;
    }
    io.err(`${commandPrefix(path)}${failureText(error)}`);
    return exitCodeFor(error);
  }
}

if (require.main === module) {
  const io: Io = { out: (text) => process.stdout.write(`${text}\n`), err: (text) => process.stderr.write(`${text}\n`) };
  void main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
