// Offline check (no Portal needed): the committed YAML fixtures are exactly what
// lib/write-fixtures.mjs renders from lib/fixture-model.mjs, which the other tests use
// to compute their expectations. Regenerate with `node catalog/lib/write-fixtures.mjs`
// from test/compat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FIXTURES_DIR, renderFixtureFiles } from './lib/write-fixtures.mjs';

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(relative(FIXTURES_DIR, path));
  }
  return out;
}

test('fixture YAML files match the fixture model', async () => {
  const rendered = renderFixtureFiles();
  assert.deepEqual((await listFiles(FIXTURES_DIR)).sort(), Object.keys(rendered).sort());
  for (const [file, text] of Object.entries(rendered)) {
    assert.equal(await readFile(join(FIXTURES_DIR, file), 'utf8'), text, `${file} is stale`);
  }
});
