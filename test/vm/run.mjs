#!/usr/bin/env node
// Runs one command inside a throwaway QEMU guest whose kernel has vsock
// loopback (CID 1), so the vsock suite exercises a real kernel. The guest's
// root is this machine's own, read-only; the command runs in the caller's
// cwd with the caller's PATH.
//
// Why a VM at all: on the lab machines vsock goes to the machine's own host,
// so nothing here may connect over vsock. Detection below only ever binds.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { provision } from './provision.mjs';

const USAGE = 'usage: node test/vm/run.mjs [--here-if-loopback] [--timeout SECONDS] -- <command> [args...]';
const READY = 'HVSOCK-VM-READY ';
const VM_FAILED = 125; // the VM, not the command, failed (as docker run does)
const TIMED_OUT = 124; // as timeout(1) does

const say = (msg) => process.stderr.write(`hvsock VM: ${msg}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function parseArgs(argv) {
  const opts = { hereIfLoopback: false, timeout: 1800, command: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.command = argv.slice(i + 1);
      break;
    } else if (a === '--here-if-loopback') opts.hereIfLoopback = true;
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      opts.timeout = Number(v);
      if (!(opts.timeout > 0)) throw new Error(`--timeout needs a positive number of seconds, got ${v}`);
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else {
      opts.command = argv.slice(i);
      break;
    }
  }
  if (opts.command.length === 0) throw new Error('no command given');
  return opts;
}

/** Binding CID 1 succeeds only where the kernel has vsock loopback. Never connects. */
function hereHasLoopback() {
  const r = spawnSync('python3', ['-c', 'import socket; s=socket.socket(40,1); s.bind((1,0xFFFFFFFF))'], {
    stdio: 'ignore',
    timeout: 30_000,
  });
  return r.status === 0;
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const display = (command) => command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shq(a))).join(' ');

/** The guest runs this with an empty environment: only what is listed here reaches the command. */
function jobScript(command) {
  const env = { PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TERM: 'dumb' };
  for (const k of ['CI', 'FORCE_COLOR', 'NO_COLOR']) if (k in process.env) env[k] = process.env[k];
  // HVSOCK_VM steers this script, not the command: passed on, it would make a
  // run.mjs inside the guest start a VM of its own.
  for (const [k, v] of Object.entries(process.env)) if (/^HVSOCK_\w+$/.test(k) && k !== 'HVSOCK_VM') env[k] = v;
  env.HVSOCK_IN_VM = '1';
  const cwd = process.cwd();
  return [
    `export ${Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`).join(' ')}`,
    `cd ${shq(cwd)} || { echo ${shq(`hvsock VM: ${cwd} is not reachable in the guest`)} >&2; exit ${VM_FAILED}; }`,
    `exec ${command.map(shq).join(' ')}`,
    '',
  ].join('\n');
}

function runHere(command, timeout) {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  const timer = setTimeout(() => {
    say(`"${display(command)}" timed out after ${timeout} s; killing it`);
    child.kill('SIGKILL');
    process.exitCode = TIMED_OUT;
  }, timeout * 1000);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    clearTimeout(timer);
    say(`cannot run ${command[0]}: ${e.message}`);
    process.exitCode = 127;
  });
  child.on('exit', (code, signal) => {
    clearTimeout(timer);
    process.exitCode ??= code ?? 128 + os.constants.signals[signal];
  });
}

function tail(file, lines) {
  try {
    // Without the firmware's and the kernel's terminal control sequences.
    return fs.readFileSync(file, 'utf8').replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)|\r/g, '').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function runInVm(command, timeout) {
  const started = performance.now();
  const vm = provision({ log: say });
  const provisionMs = performance.now() - started;
  if (provisionMs > 2000) say(`provisioned in ${seconds(provisionMs)}`);

  const io = fs.mkdtempSync(path.join(os.tmpdir(), 'hvsock-vm-'));
  fs.writeFileSync(path.join(io, 'job.sh'), jobScript(command));
  // The command's stdout is a tty in the guest only when ours is one.
  const tty = process.stdout.isTTY;
  const conf = tty ? `HVSOCK_TTY=1\nHVSOCK_COLS=${process.stdout.columns | 0}\nHVSOCK_ROWS=${process.stdout.rows | 0}\n` : 'HVSOCK_TTY=0\n';
  fs.writeFileSync(path.join(io, 'guest.conf'), conf);
  const consoleLog = path.join(io, 'console.log');
  const opt = (p) => p.replace(/,/g, ',,'); // QEMU's escape for commas in option values
  const hvc = vm.modules.includes('virtio_console') || vm.builtin.includes('virtio_console');

  const args = [
    // KVM hangs on the lab machines: always emulate.
    '-accel', 'tcg,thread=multi', '-cpu', 'max', '-m', '4096', '-smp', '2',
    '-nographic', '-nodefaults', '-no-reboot', '-monitor', 'none', '-nic', 'none',
    '-kernel', vm.kernel, '-initrd', vm.initrd,
    // no_timer_check: on a loaded host the emulated CPU can miss the boot's
    // timer-IRQ probe, and the kernel panics ("IO-APIC + timer doesn't work");
    // the probe only guards against broken hardware, which this is not.
    '-append', 'console=ttyS0 panic=-1 quiet no_timer_check',
    '-fsdev', 'local,id=r,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=r,mount_tag=hostroot',
    '-fsdev', `local,id=io,path=${opt(io)},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=io,mount_tag=hvsockio',
    // Kernel messages go to a file (shown if the guest fails); the command's
    // output to a virtio console on our stdout.
    ...(hvc
      ? ['-chardev', `file,id=con,path=${opt(consoleLog)}`, '-serial', 'chardev:con', '-device', 'virtio-serial-pci',
        '-chardev', 'stdio,id=out,signal=off', '-device', 'virtconsole,chardev=out']
      : ['-serial', 'stdio']),
  ];

  say(`running "${display(command)}" in QEMU guest (kernel ${vm.kernelVersion} from ${vm.kernelPackage}${vm.pinned ? ', as pinned' : ', NOT the pinned one'}; vsock loopback CID 1)`);
  const qemuStarted = performance.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let outcome = null; // why we stopped QEMU, if we did
  let booted = false;
  let qemuErr = '';

  const stop = (why) => {
    outcome ??= why;
    qemu.kill('SIGTERM');
    setTimeout(() => qemu.kill('SIGKILL'), 5000).unref();
  };
  const timer = setTimeout(() => stop('timeout'), timeout * 1000);
  const onSignal = (sig) => stop(sig);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, onSignal);
  process.on('exit', () => qemu.exitCode === null && qemu.signalCode === null && qemu.kill('SIGKILL'));

  // Until init announces itself, hold the output back: the boot line goes
  // first, and the marker itself is not the command's.
  let pending = Buffer.alloc(0);
  qemu.stdout.on('data', function untilReady(chunk) {
    pending = Buffer.concat([pending, chunk]);
    const text = pending.toString('latin1');
    const at = text.indexOf(READY);
    const eol = at < 0 ? -1 : text.indexOf('\n', at);
    if (eol < 0) return;
    booted = true;
    const uptime = text.slice(at + READY.length, eol).trim();
    say(`guest booted in ${seconds(performance.now() - qemuStarted)} (guest kernel uptime ${uptime} s)`);
    const rest = Buffer.concat([pending.subarray(0, at), pending.subarray(eol + 1)]);
    pending = null;
    if (rest.length) process.stdout.write(rest);
    // From here on the bytes are the command's; pipe() keeps a slow reader
    // of our stdout from piling them up in memory.
    qemu.stdout.off('data', untilReady);
    qemu.stdout.pipe(process.stdout, { end: false });
  });
  qemu.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    qemuErr = (qemuErr + chunk.toString()).slice(-4000);
  });

  qemu.on('error', (e) => {
    outcome ??= 'spawn';
    say(`cannot start qemu-system-x86_64: ${e.message}`);
  });
  qemu.on('close', (code, signal) => {
    clearTimeout(timer);
    for (const sig of ['SIGINT', 'SIGTERM']) process.off(sig, onSignal);
    if (pending?.length) process.stdout.write(pending);
    const total = seconds(performance.now() - qemuStarted);
    const read = (f) => {
      try {
        return fs.readFileSync(path.join(io, f), 'utf8').trim();
      } catch {
        return null;
      }
    };
    const status = read('status');
    const error = read('error');
    const explain = () => {
      const log = tail(consoleLog, 30);
      if (log) process.stderr.write(`--- guest console (last lines) ---\n${log}\n---\n`);
    };

    if (outcome === 'timeout') {
      say(`TIMED OUT after ${timeout} s; QEMU killed`);
      process.exitCode = TIMED_OUT;
    } else if (outcome === 'SIGINT' || outcome === 'SIGTERM') {
      say(`interrupted by ${outcome}; QEMU killed`);
      process.exitCode = 128 + os.constants.signals[outcome];
    } else if (status !== null && /^\d+$/.test(status)) {
      say(`command exited with status ${status} (${total} in QEMU)`);
      process.exitCode = Number(status);
    } else {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (error) say(`GUEST INIT FAILED: ${error}`);
      else if (outcome === 'spawn') say('QEMU COULD NOT START');
      else if (!booted) say(`VM FAILED TO BOOT: QEMU exited (${how}) before the guest init reported in`);
      else say(`FAILED: guest never reported an exit status (QEMU exited with ${how} after ${total})`);
      if (qemuErr && outcome !== 'spawn') say(`QEMU said: ${qemuErr.trim()}`);
      explain();
      process.exitCode = VM_FAILED;
    }
    fs.rmSync(io, { recursive: true, force: true });
  });
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  say(`${e.message}\n${USAGE}`);
  process.exit(2);
}

const mode = process.env.HVSOCK_VM;
const here = mode === '0' || (mode !== '1' && opts.hereIfLoopback && hereHasLoopback());
if (here) {
  say(`running "${display(opts.command)}" here, without a VM (${mode === '0' ? 'HVSOCK_VM=0' : 'this kernel has vsock loopback'})`);
  runHere(opts.command, opts.timeout);
} else {
  try {
    runInVm(opts.command, opts.timeout);
  } catch (e) {
    say(`PROVISIONING FAILED: ${e.message.replace(/^hvsock VM: /, '')}`);
    process.exitCode = VM_FAILED;
  }
}
