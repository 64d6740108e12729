// Renders the fixture model (fixture-model.mjs) as YAML.
//
//   node catalog/lib/write-fixtures.mjs          (from test/compat) rewrites catalog/fixtures/
//   import { renderFixtureFiles } from this file  returns { relativePath: text } without writing
//
// The emitter only supports what the model uses: mappings, sequences, strings (plain,
// double-quoted or literal block), numbers and booleans.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKEN_YAML_TEXT, HTTP_FILES, STATIC_FILES } from './fixture-model.mjs';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

const PLAIN = /^[A-Za-z0-9./][A-Za-z0-9 ._/@+-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;
const NUMBERISH = /^[-+]?(\.?[0-9]|0x|0o)/i;

function scalar(value) {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new Error(`unsupported scalar ${typeof value}`);
  if (PLAIN.test(value) && !RESERVED.test(value) && !NUMBERISH.test(value) && !value.endsWith(' ')) {
    return value;
  }
  return JSON.stringify(value);
}

function isMultiline(value) {
  return typeof value === 'string' && value.includes('\n');
}

function block(value, indent) {
  const pad = ' '.repeat(indent);
  const header = value.endsWith('\n') ? '|' : '|-';
  const body = value.replace(/\n$/, '').split('\n');
  return [header, ...body.map(line => (line ? pad + line : ''))];
}

function emitValue(key, value, indent, lines, prefix) {
  const pad = ' '.repeat(indent);
  const head = `${prefix ?? pad}${key}:`;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      lines.push(`${head} []`);
      return;
    }
    lines.push(head);
    emitSequence(value, indent + 2, lines);
  } else if (value !== null && typeof value === 'object') {
    if (Object.keys(value).length === 0) {
      lines.push(`${head} {}`);
      return;
    }
    lines.push(head);
    emitMapping(value, indent + 2, lines);
  } else if (isMultiline(value)) {
    const [header, ...rest] = block(value, indent + 2);
    lines.push(`${head} ${header}`, ...rest);
  } else {
    lines.push(`${head} ${scalar(value)}`);
  }
}

function emitMapping(obj, indent, lines, firstPrefix) {
  let first = true;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    emitValue(scalar(key), value, indent, lines, first ? firstPrefix : undefined);
    first = false;
  }
}

function emitSequence(items, indent, lines) {
  const pad = ' '.repeat(indent);
  for (const item of items) {
    if (Array.isArray(item)) throw new Error('nested sequences are not supported');
    if (item !== null && typeof item === 'object') {
      emitMapping(item, indent + 2, lines, `${pad}- `);
    } else {
      lines.push(`${pad}- ${scalar(item)}`);
    }
  }
}

export function renderDocuments(docs, comment) {
  const parts = docs.map(doc => {
    const lines = [];
    emitMapping(doc, 0, lines);
    return lines.join('\n');
  });
  const header = comment ? `${comment.map(l => `# ${l}`).join('\n')}\n` : '';
  return `${header}${parts.join('\n---\n')}\n`;
}

const GENERATED_NOTE = [
  'Generated from catalog/lib/fixture-model.mjs by catalog/lib/write-fixtures.mjs.',
  'Edit the model and regenerate; catalog/fixtures.test.mjs checks that they match.',
];

export function renderFixtureFiles() {
  const files = {};
  for (const [file, docs] of Object.entries({ ...STATIC_FILES, ...HTTP_FILES })) {
    files[file] = renderDocuments(docs, GENERATED_NOTE);
  }
  files['broken-yaml.yaml'] = BROKEN_YAML_TEXT;
  return files;
}

async function main() {
  for (const [file, text] of Object.entries(renderFixtureFiles())) {
    const path = join(FIXTURES_DIR, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
