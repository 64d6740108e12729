// Regenerates cases.golden.json from cases.txt with real nunjucks 3.2.4, configured as Backstage's
// SecureTemplater configures it. Usage: (cd DIR && npm install nunjucks@3.2.4) &&
// NODE_PATH=DIR/node_modules node gen_nunjucks.js > cases.golden.json
const fs = require('fs');
const nunjucks = require('nunjucks');
const lines = fs.readFileSync(__dirname + '/cases.txt', 'utf8').split('\n').filter(l => l && !l.startsWith('#'));
const out = [];
const unesc = s => s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
for (const line of lines) {
  const [mode, tplRaw, ctxRaw] = line.split('\t');
  const tpl = unesc(tplRaw);
  const ctx = JSON.parse(ctxRaw || '{}');
  const opts = { autoescape: false };
  if (mode === 'backstage') opts.tags = { variableStart: '${{', variableEnd: '}}' };
  const env = new nunjucks.Environment(null, opts);
  env.addFilter('jsonify', env.getFilter('dump'));
  let uninstall;
  if (mode === 'compat') uninstall = nunjucks.installJinjaCompat();
  const rec = { mode, template: tpl, context: ctx };
  try { rec.want = env.renderString(tpl, ctx); } catch (e) { rec.error = true; }
  if (uninstall) uninstall();
  out.push(rec);
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
