// Offline check (no Portal needed): the committed YAML fixtures are exactly what
// lib/write-fixtures.mjs renders from lib/fixture-model.mjs, which the other tests use
// to compute their expectations. Regenerate with `node catalog/lib/write-fixtures.mjs`
// from test/compat.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BROKEN_YAML_TEXT, BROKEN_YAML_VALID_DOCS } from './lib/fixture-model.mjs';
import { FIXTURES_DIR, renderDocuments, renderFixtureFiles } from './lib/write-fixtures.mjs';

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

test('the valid documents of the hand-written broken file are the modelled ones', () => {
  // The model's expectations for broken-neighbour-a/b (visible in Portal, see
  // PORTAL_DEVIATIONS) come from BROKEN_YAML_VALID_DOCS; they must be what the file holds.
  const documents = BROKEN_YAML_TEXT.split(/^---$/m);
  assert.equal(documents.length, 3);
  const valid = [documents[0].replace(/^(#.*\n)+/, ''), documents[2].replace(/^\n/, '')];
  assert.deepEqual(
    valid,
    BROKEN_YAML_VALID_DOCS.map(doc => renderDocuments([doc])),
  );
});
