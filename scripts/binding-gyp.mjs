// binding.gyp is the one list of the addon's sources, defines and include
// directories. node-gyp builds from it, and so do the two builds node-gyp
// cannot make, through this reader: the mingw-w64 cross build
// (scripts/build-win32.mjs) and the sanitizer build (test/sanitize/build.mjs).
// test/unit/native-sources.test.ts holds what it computes to what gyp itself
// computes from the same file.
//
// A .gyp file is a Python literal (comments, single quotes, trailing commas),
// read here without Python. Only the OS conditions binding.gyp uses are
// understood; anything else is an error rather than a guess.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_NAME = 'hvsock';
// The settings that are lists gyp appends to; the others (msvs_settings,
// xcode_settings) belong to one toolchain, which its build spells out.
const LIST_KEYS = ['sources', 'defines', 'include_dirs', 'cflags_cc', 'libraries'];

/**
 * The addon target's settings for one gyp OS ('linux', 'win', 'mac', ...):
 * the common lists followed by those of each condition that holds, as gyp
 * merges them. Paths stay relative to the package root, as binding.gyp
 * writes them; `<!(command)` include directories are run, as gyp does.
 */
export function bindingTarget(os, file = path.join(ROOT, 'binding.gyp')) {
  const gyp = parsePythonLiteral(fs.readFileSync(file, 'utf8'));
  const target = gyp.targets.find((t) => t.target_name === TARGET_NAME);
  if (target === undefined) throw new Error(`binding.gyp: no target ${TARGET_NAME}`);
  const merged = Object.fromEntries(LIST_KEYS.map((key) => [key, [...(target[key] ?? [])]]));
  for (const [condition, settings, otherwise] of target.conditions ?? []) {
    const chosen = osCondition(condition, os) ? settings : otherwise;
    for (const key of LIST_KEYS) merged[key].push(...(chosen?.[key] ?? []));
  }
  merged.include_dirs = merged.include_dirs.map((dir) => {
    const m = /^<!\((.*)\)$/.exec(dir);
    const dirOut = m ? execSync(m[1], { cwd: path.dirname(file), encoding: 'utf8' }).trim() : dir;
    return path.resolve(path.dirname(file), dirOut);
  });
  return merged;
}

function osCondition(condition, os) {
  const m = /^\s*OS\s*(==|!=)\s*['"](\w+)['"]\s*$/.exec(condition);
  if (m === null) throw new Error(`binding.gyp: condition ${JSON.stringify(condition)} is not understood`);
  return (m[2] === os) === (m[1] === '==');
}

/** A Python literal of dicts, lists, tuples, strings, numbers, True/False/None, with # comments. */
export function parsePythonLiteral(text) {
  let i = 0;
  const fail = (what) => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`binding.gyp line ${line}: ${what}`);
  };
  const skip = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text[i] !== '#') return;
      while (i < text.length && text[i] !== '\n') i++;
    }
  };
  const string = () => {
    const quote = text[i++];
    let out = '';
    while (text[i] !== quote) {
      if (i >= text.length || text[i] === '\n') fail('unterminated string');
      if (text[i] === '\\') {
        const escaped = text[i + 1];
        out += { n: '\n', t: '\t', r: '\r', 0: '\0' }[escaped] ?? escaped;
        i += 2;
      } else {
        out += text[i++];
      }
    }
    i++;
    return out;
  };
  // Items up to `close`, a trailing comma allowed.
  const items = (close, item) => {
    i++;
    const out = [];
    for (;;) {
      skip();
      if (text[i] === close) break;
      out.push(item());
      skip();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected , or ${close}`);
    }
    i++;
    return out;
  };
  const value = () => {
    skip();
    const c = text[i];
    if (c === '{') {
      return Object.fromEntries(
        items('}', () => {
          const key = value();
          skip();
          if (text[i++] !== ':') fail('expected :');
          return [key, value()];
        }),
      );
    }
    if (c === '[') return items(']', value);
    if (c === '(') return items(')', value);
    if (c === "'" || c === '"') {
      // Adjacent literals are one string, as in Python.
      let out = string();
      for (skip(); text[i] === "'" || text[i] === '"'; skip()) out += string();
      return out;
    }
    const word = /^(True|False|None|-?\d+(\.\d+)?)/.exec(text.slice(i));
    if (word === null) fail(`unexpected ${JSON.stringify(c ?? 'end of file')}`);
    i += word[0].length;
    const constants = { True: true, False: false, None: null };
    return word[0] in constants ? constants[word[0]] : Number(word[0]);
  };
  const result = value();
  skip();
  if (i < text.length) fail('text after the literal');
  return result;
}
