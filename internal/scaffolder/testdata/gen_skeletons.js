// Renders the fetch steps of the Backstage-style samples with real nunjucks 3.2.4, following
// fetch:template's rules (file and directory names rendered, names rendering to nothing skipped,
// cookiecutterCompat with {{ }} tags, Jinja compatibility and jsonify), into
// backstage/<sample>/testdata/nunjucks/. Each sample lists its fetches, with the values Backstage
// would pass after rendering the step input, in backstage/<sample>/testdata/nunjucks.json.
// Usage: NODE_PATH=<dir with nunjucks@3.2.4>/node_modules node gen_skeletons.js
const fs = require('fs');
const path = require('path');
const nunjucks = require('nunjucks');

function envFor(f) {
  const opts = { autoescape: false, trimBlocks: !!f.trimBlocks, lstripBlocks: !!f.lstripBlocks };
  if (!f.cookiecutterCompat) opts.tags = { variableStart: '${{', variableEnd: '}}' };
  const env = new nunjucks.Environment(null, opts);
  if (f.cookiecutterCompat) {
    env.addFilter('jsonify', env.getFilter('dump'));
  } else {
    env.addFilter('parseEntityRef', ref => {
      const m = /^(?:([^:/]+):)?(?:([^/]+)\/)?(.+)$/.exec(ref);
      return { kind: m[1], namespace: m[2] || 'default', name: m[3] };
    });
    env.addFilter('pick', (obj, key) => key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj));
  }
  return env;
}

function entries(dir, prefix = '') {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix + e.name;
    if (e.isDirectory()) { out.push(rel + '/'); out.push(...entries(path.join(dir, e.name), rel + '/')); }
    else out.push(rel);
  }
  return out;
}

for (const sample of fs.readdirSync(path.join(__dirname, 'backstage'))) {
  const base = path.join(__dirname, 'backstage', sample);
  const manifest = path.join(base, 'testdata', 'nunjucks.json');
  if (!fs.existsSync(manifest)) continue;
  const outDir = path.join(base, 'testdata', 'nunjucks');
  fs.rmSync(outDir, { recursive: true, force: true });
  for (const f of JSON.parse(fs.readFileSync(manifest, 'utf8'))) {
    const env = envFor(f);
    const ctx = { [f.cookiecutterCompat ? 'cookiecutter' : 'values']: f.values };
    const uninstall = f.cookiecutterCompat ? nunjucks.installJinjaCompat() : null;
    const src = path.join(base, f.url);
    const target = path.join(outDir, f.targetPath || '.');
    if (f.file) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, env.renderString(fs.readFileSync(src, 'utf8'), ctx));
    } else {
      for (const loc of entries(src)) {
        const copyOnly = (f.copyWithoutRender || []).includes(loc);
        const out = copyOnly ? loc : env.renderString(loc, ctx);
        if (out === '' || out.startsWith('/') || out.includes('//')) continue;
        if (loc.endsWith('/')) continue;
        const content = fs.readFileSync(path.join(src, loc), 'utf8');
        const dest = path.join(target, out);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, copyOnly ? content : env.renderString(content, ctx));
      }
    }
    if (uninstall) uninstall();
    // Later steps (fs:delete) remove some files; the manifest says which.
    for (const r of f.remove || []) fs.rmSync(path.join(outDir, r));
  }
}
