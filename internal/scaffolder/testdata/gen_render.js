// Regenerates render.golden.json: each case of render_cases.json rendered by real nunjucks 3.2.4
// through a copy of the render() and isSingleTemplateString() logic of Backstage's
// NunjucksWorkflowRunner (plugins/scaffolder-backend, 1.45 line), with its default filters
// reimplemented from their source. Usage:
//   NODE_PATH=<dir with nunjucks@3.2.4>/node_modules node gen_render.js > render.golden.json
const fs = require('fs');
const nunjucks = require('nunjucks');
const env = new nunjucks.Environment(null, { autoescape: false, tags: { variableStart: '${{', variableEnd: '}}' } });
const hosts = { 'github.com': 'github', 'gitlab.com': 'gitlab', 'bitbucket.org': 'bitbucket', 'dev.azure.com': 'azure' };
function parseRepoUrl(repoUrl) {
  const parsed = new URL(`https://${repoUrl}`);
  const host = parsed.host;
  const get = k => parsed.searchParams.get(k) ?? undefined;
  const type = hosts[host];
  if (!type) throw new Error(`No matching integration configuration for host ${host}, please check your integrations config`);
  const need = (...ps) => { for (const p of ps) if (!parsed.searchParams.get(p)) throw new Error(`Invalid repo URL passed to publisher: ${parsed.toString()}, missing ${p}`); };
  if (type === 'gitlab') { if (!get('project')) need('owner', 'repo'); } else if (type === 'azure') need('project', 'repo'); else if (type === 'bitbucket') need('project', 'repo'); else need('repo', 'owner');
  return { host, owner: get('owner'), repo: get('repo'), organization: get('organization'), workspace: get('workspace'), project: get('project') };
}
const filters = {
  parseRepoUrl: url => parseRepoUrl(url),
  projectSlug: url => { const p = parseRepoUrl(url); return `${p.owner}/${p.repo}`; },
  pick: (obj, key) => key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj),
};
// Filters cross the isolate as JSON, as in SecureTemplater.
for (const [name, f] of Object.entries(filters)) env.addFilter(name, (...args) => JSON.parse(JSON.stringify(f(...args)) ?? 'null'));
const renderTemplate = (s, ctx) => env.renderString(s, JSON.parse(JSON.stringify(ctx)));
function isSingleTemplateString(input) {
  const parsed = nunjucks.parser.parse(input, {}, { autoescape: false, tags: { variableStart: '${{', variableEnd: '}}' } });
  return parsed.children.length === 1 && !(parsed.children[0]?.children?.[0] instanceof nunjucks.nodes.TemplateData);
}
function render(input, context) {
  return JSON.parse(JSON.stringify(input), (_key, value) => {
    try {
      if (typeof value === 'string') {
        try {
          if (isSingleTemplateString(value)) {
            const wrappedDumped = value.replace(/\${{(.+)}}/g, '${{ ( $1 ) | dump }}');
            const templated = renderTemplate(wrappedDumped, context);
            if (templated === '') return undefined;
            return JSON.parse(templated);
          }
        } catch (ex) { /* logged by Backstage */ }
        const templated = renderTemplate(value, context);
        if (templated === '') return undefined;
        return templated;
      }
    } catch { return value; }
    return value;
  });
}
const { context, cases } = JSON.parse(fs.readFileSync(__dirname + '/render_cases.json', 'utf8'));
const out = cases.map(input => {
  const r = render({ v: input }, context);
  return { input, output: r, dropped: !('v' in r) };
});
process.stdout.write(JSON.stringify({ context, results: out }, null, 1) + '\n');
