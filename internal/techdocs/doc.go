// Package techdocs builds TechDocs sites without mkdocs: it reads an mkdocs project (mkdocs.yml as
// data, never as code), renders its Markdown with goldmark and the techdocs-core feature set,
// checks its links and anchors, and produces what Backstage's TechDocs publishes: one HTML fragment
// per page, nav.json, search/search_index.json and techdocs_metadata.json.
//
// A server calls Build with the source as an fs.FS (preferably an os.Root's FS, which also refuses
// escaping symbolic links on its own), keeps Site.Cache for the next build of the same entity, and
// hands the Site (an fs.FS) to a Publisher. Publishers live in sub-packages named after their
// storage, so this package depends on no storage SDK.
package techdocs
