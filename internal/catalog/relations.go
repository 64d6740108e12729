package catalog

import (
	"github.com/billpay/portal/internal/errs"
)

// Relation types emitted by the built-in processors (reference §2.5).
const (
	RelationOwnedBy       = "ownedBy"
	RelationOwnerOf       = "ownerOf"
	RelationPartOf        = "partOf"
	RelationHasPart       = "hasPart"
	RelationProvidesAPI   = "providesApi"
	RelationAPIProvidedBy = "apiProvidedBy"
	RelationConsumesAPI   = "consumesApi"
	RelationAPIConsumedBy = "apiConsumedBy"
	RelationDependsOn     = "dependsOn"
	RelationDependencyOf  = "dependencyOf"
	RelationMemberOf      = "memberOf"
	RelationHasMember     = "hasMember"
	RelationChildOf       = "childOf"
	RelationParentOf      = "parentOf"
)

// Edge is one directed relation. Both refs are canonical (lowercased), so edges compare with ==.
type Edge struct {
	Source Ref
	Type   string
	Target Ref
}

// relationField is one spec field that names other entities. An empty defaultKind means the
// reference must carry its kind, because dependsOn may point at any kind.
type relationField struct {
	name        string
	path        string
	outgoing    string
	incoming    string
	defaultKind string
}

func rel(name, outgoing, incoming, defaultKind string) relationField {
	return relationField{name: name, path: "spec." + name, outgoing: outgoing, incoming: incoming, defaultKind: defaultKind}
}

var (
	relOwner        = rel("owner", RelationOwnedBy, RelationOwnerOf, KindGroup)
	relSystem       = rel("system", RelationPartOf, RelationHasPart, KindSystem)
	relDependsOn    = rel("dependsOn", RelationDependsOn, RelationDependencyOf, "")
	relDependencyOf = rel("dependencyOf", RelationDependencyOf, RelationDependsOn, "")
)

// relationFields follows BuiltinKindsEntityProcessor.postProcessEntity field by field, in its order,
// so edges come out in the order Backstage emits them.
var relationFields = map[string][]relationField{
	KindComponent: {
		relOwner,
		rel("subcomponentOf", RelationPartOf, RelationHasPart, KindComponent),
		rel("providesApis", RelationProvidesAPI, RelationAPIProvidedBy, KindAPI),
		rel("consumesApis", RelationConsumesAPI, RelationAPIConsumedBy, KindAPI),
		relDependsOn,
		relDependencyOf,
		relSystem,
	},
	KindAPI:      {relOwner, relSystem},
	KindResource: {relOwner, relDependsOn, relDependencyOf, relSystem},
	KindUser:     {rel("memberOf", RelationMemberOf, RelationHasMember, KindGroup)},
	KindGroup: {
		rel("parent", RelationChildOf, RelationParentOf, KindGroup),
		rel("children", RelationParentOf, RelationChildOf, KindGroup),
		rel("members", RelationHasMember, RelationMemberOf, KindUser),
	},
	KindSystem:   {relOwner, rel("domain", RelationPartOf, RelationHasPart, KindDomain)},
	KindDomain:   {relOwner, rel("subdomainOf", RelationPartOf, RelationHasPart, KindDomain)},
	KindTemplate: {relOwner},
}

// Relations returns the edges the built-in processors and the scaffolder's entity processor emit for
// e: for every reference in a relation field, the outgoing edge from e and its inverse from the
// target. Targets default their namespace to e's namespace and their kind to the field's default.
//
// Kinds match case-sensitively and Templates only under scaffolder.backstage.io/v1beta3, as in
// Backstage; other kinds (Location) have no relations. Duplicates are kept: the catalog stores the
// distinct union of every entity's edges. A malformed reference fails the whole entity with an
// errs.Invalid error naming the field, as a throwing processor fails processing in Backstage.
func Relations(e Entity) ([]Edge, error) {
	kind := e.Kind()
	if kind == KindTemplate && e.APIVersion() != APIVersionTemplate {
		return nil, nil
	}
	fields := relationFields[kind]
	spec := e.Spec()
	if len(fields) == 0 || len(spec) == 0 {
		return nil, nil
	}
	self := e.Ref().Lower()
	var edges []Edge
	emit := func(f *relationField, path, target string) error {
		ref, err := ParseRef(target, RefDefaults{Kind: f.defaultKind, Namespace: self.Namespace})
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "%s: %s", path, errs.MessageOf(err))
		}
		ref = ref.Lower()
		edges = append(edges, Edge{Source: self, Type: f.outgoing, Target: ref}, Edge{Source: ref, Type: f.incoming, Target: self})
		return nil
	}
	for i := range fields {
		f := &fields[i]
		v, ok := spec[f.name]
		if !ok || v == nil {
			continue
		}
		switch t := v.(type) {
		case string:
			// Backstage flattens [targets], so a lone string in an array field counts as one target.
			if t == "" {
				continue
			}
			if err := emit(f, f.path, t); err != nil {
				return nil, err
			}
		case []any:
			for j, x := range t {
				s, ok := x.(string)
				if !ok {
					return nil, errs.E(errs.Invalid, "%s must be an entity reference string", indexPath(f.path, j))
				}
				if err := emit(f, indexPath(f.path, j), s); err != nil {
					return nil, err
				}
			}
		case []string:
			for j, s := range t {
				if err := emit(f, indexPath(f.path, j), s); err != nil {
					return nil, err
				}
			}
		default:
			return nil, errs.E(errs.Invalid, "%s must be an entity reference string or an array of them", f.path)
		}
	}
	return edges, nil
}
