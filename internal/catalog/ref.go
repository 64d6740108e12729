package catalog

import (
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// RefDefaults fills the parts a reference leaves out. An empty Namespace means "default"; an empty
// Kind means the reference must name its kind.
type RefDefaults struct {
	Kind      string
	Namespace string
}

// ParseRef parses an entity reference "[<kind>:][<namespace>/]<name>" as Backstage's parseEntityRef
// does (reference §2.3). Parts keep their case; use Lower or String for the canonical form.
//
// The first ':' separates the kind only when no '/' comes before it, and the first '/' separates the
// namespace, so a name may itself contain ':' and '/' ("component:ns/a:b/c" has the name "a:b/c").
// Nothing is trimmed: Backstage stopped trimming references, and " x" names a different entity.
func ParseRef(s string, d RefDefaults) (Ref, error) {
	if s == "" {
		return Ref{}, errs.E(errs.Invalid, "Entity reference must not be empty")
	}
	kind, hasKind, ns, hasNS, name := splitRef(s)
	if (hasKind && kind == "") || (hasNS && ns == "") || name == "" {
		return Ref{}, malformedRef(s)
	}
	if !hasKind {
		if d.Kind == "" {
			return Ref{}, errs.E(errs.Invalid,
				`Entity reference "%s" had missing or empty kind (e.g. did not start with "component:" or similar)`, s)
		}
		kind = d.Kind
	}
	if !hasNS {
		ns = d.Namespace
		if ns == "" {
			ns = DefaultNamespace
		}
	}
	return Ref{Kind: kind, Namespace: ns, Name: name}, nil
}

// ParseRefFromTargetRef parses a complete reference "kind:namespace/name", the form stored in
// relations' targetRef and sent to /by-refs. Unlike ParseRef it fills in nothing, because a
// canonical reference that lacks a part was not produced by the catalog and a guess would point the
// caller at the wrong entity.
func ParseRefFromTargetRef(s string) (Ref, error) {
	kind, hasKind, ns, hasNS, name := splitRef(s)
	if !hasKind || !hasNS || kind == "" || ns == "" || name == "" {
		return Ref{}, errs.E(errs.Invalid, `Entity reference "%s" was not on the form <kind>:<namespace>/<name>`, s)
	}
	return Ref{Kind: kind, Namespace: ns, Name: name}, nil
}

// Lower returns the reference with every part lowercased, which is how the catalog compares and
// stores references (Backstage lowercases with toLocaleLowerCase('en-US')).
func (r Ref) Lower() Ref {
	return Ref{Kind: strings.ToLower(r.Kind), Namespace: strings.ToLower(r.Namespace), Name: strings.ToLower(r.Name)}
}

// splitRef is Backstage's parseRefString without the error: a ':' after the first '/' belongs to
// the name, which is what lets names contain colons.
func splitRef(s string) (kind string, hasKind bool, ns string, hasNS bool, name string) {
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash >= 0 && slash < colon {
		colon = -1
	}
	if colon >= 0 {
		kind, hasKind = s[:colon], true
	}
	if slash >= 0 {
		ns, hasNS = s[colon+1:slash], true
	}
	name = s[max(colon+1, slash+1):]
	return kind, hasKind, ns, hasNS, name
}

func malformedRef(s string) *errs.Error {
	return errs.E(errs.Invalid, `Entity reference "%s" was not on the form [<kind>:][<namespace>/]<name>`, s)
}
