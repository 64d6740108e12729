package web

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/billpay/portal/internal/catalog"
)

// graph is an entity's relations laid out for SVG on the server: the entity in the middle, what points at it on
// the left and what it points at on the right, so every arrow reads left to right.
type graph struct {
	Width, Height int
	Center        graphNode
	Nodes         []graphNode
	Edges         []graphEdge
	// Shown and Total count related entities; the lists under the graph have them all.
	Shown, Total int
	Summary      string
}

type graphNode struct {
	X, Y, W, H   int
	TextX, TextY int
	KindY        int
	Kind         string
	Label        string
	Full         string
	URL          string
}

type graphEdge struct {
	Path           string
	LabelX, LabelY int
	Label          string
	Anchor         string
}

// inverseRelations maps the relation types whose targets point at the entity to the type read from the target's
// side.
var inverseRelations = map[string]string{
	catalog.RelationOwnerOf: catalog.RelationOwnedBy, catalog.RelationHasPart: catalog.RelationPartOf,
	catalog.RelationAPIProvidedBy: catalog.RelationProvidesAPI, catalog.RelationAPIConsumedBy: catalog.RelationConsumesAPI,
	catalog.RelationDependencyOf: catalog.RelationDependsOn, catalog.RelationHasMember: catalog.RelationMemberOf,
	catalog.RelationParentOf: catalog.RelationChildOf,
}

// Graph geometry, in SVG user units.
const (
	graphNodeW    = 210
	graphNodeH    = 46
	graphPitch    = 60
	graphColGap   = 170
	graphMargin   = 16
	graphSideMax  = 12
	graphLabelMax = 24
)

type graphSide struct {
	order  []string
	labels map[string][]string
}

func (s *graphSide) add(ref, label string) {
	if s.labels == nil {
		s.labels = map[string][]string{}
	}
	if _, ok := s.labels[ref]; !ok {
		s.order = append(s.order, ref)
	}
	for _, l := range s.labels[ref] {
		if l == label {
			return
		}
	}
	s.labels[ref] = append(s.labels[ref], label)
}

// buildGraph lays out at most graphSideMax neighbours a side; nil when the entity has no relations.
func buildGraph(ref, kind, name string, relations []relationDoc) *graph {
	var left, right graphSide
	for _, r := range relations {
		t, target := string(r.Type), strings.ToLower(string(r.TargetRef))
		if target == "" || target == ref {
			continue
		}
		if fwd, inverse := inverseRelations[t]; inverse {
			left.add(target, fwd)
		} else {
			right.add(target, t)
		}
	}
	total := len(left.order) + len(right.order)
	if total == 0 {
		return nil
	}
	for _, s := range []*graphSide{&left, &right} {
		sort.SliceStable(s.order, func(i, j int) bool {
			li, lj := strings.Join(s.labels[s.order[i]], ","), strings.Join(s.labels[s.order[j]], ",")
			if li != lj {
				return li < lj
			}
			return s.order[i] < s.order[j]
		})
	}
	nl, nr := min(len(left.order), graphSideMax), min(len(right.order), graphSideMax)
	rows := max(nl, nr, 1)
	g := &graph{Total: total, Shown: nl + nr}
	g.Width = 3*graphNodeW + 2*graphColGap + 2*graphMargin
	g.Height = rows*graphPitch - (graphPitch - graphNodeH) + 2*graphMargin
	leftX, centerX, rightX := graphMargin, graphMargin+graphNodeW+graphColGap, graphMargin+2*(graphNodeW+graphColGap)
	cy := g.Height/2 - graphNodeH/2
	g.Center = newGraphNode(centerX, cy, ref, kind, name)
	column := func(n int) []int {
		// Centre the column on the middle node.
		ys := make([]int, n)
		top := g.Height/2 - (n*graphPitch-(graphPitch-graphNodeH))/2
		for i := range ys {
			ys[i] = top + i*graphPitch
		}
		return ys
	}
	for i, y := range column(nl) {
		target := left.order[i]
		node := newGraphNodeRef(leftX, y, target)
		g.Nodes = append(g.Nodes, node)
		sx, sy := leftX+graphNodeW, y+graphNodeH/2
		ex, ey := centerX, cy+graphNodeH/2
		g.Edges = append(g.Edges, graphEdge{Path: curve(sx, sy, ex, ey), Label: strings.Join(left.labels[target], ", "),
			LabelX: sx + 8, LabelY: sy - 6, Anchor: "start"})
	}
	for i, y := range column(nr) {
		target := right.order[i]
		node := newGraphNodeRef(rightX, y, target)
		g.Nodes = append(g.Nodes, node)
		sx, sy := centerX+graphNodeW, cy+graphNodeH/2
		ex, ey := rightX, y+graphNodeH/2
		g.Edges = append(g.Edges, graphEdge{Path: curve(sx, sy, ex, ey), Label: strings.Join(right.labels[target], ", "),
			LabelX: ex - 8, LabelY: ey - 6, Anchor: "end"})
	}
	if total == 1 {
		g.Summary = name + " and 1 related entity"
	} else {
		g.Summary = fmt.Sprintf("%s and %d related entities", name, total)
	}
	if g.Shown < total {
		g.Summary += fmt.Sprintf(" (%d shown)", g.Shown)
	}
	return g
}

func curve(sx, sy, ex, ey int) string {
	mid := (ex - sx) / 2
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", sx, sy, sx+mid, sy, ex-mid, ey, ex-4, ey)
}

func newGraphNodeRef(x, y int, ref string) graphNode {
	r, err := catalog.ParseCanonicalRef(ref)
	if err != nil {
		return newGraphNode(x, y, ref, "", ref)
	}
	name := r.Name
	if r.Namespace != catalog.DefaultNamespace {
		name = r.Namespace + "/" + r.Name
	}
	return newGraphNode(x, y, ref, r.Kind, name)
}

func newGraphNode(x, y int, ref, kind, name string) graphNode {
	label := name
	if utf8.RuneCountInString(label) > graphLabelMax {
		runes := []rune(label)
		label = string(runes[:graphLabelMax-1]) + "…"
	}
	return graphNode{X: x, Y: y, W: graphNodeW, H: graphNodeH, TextX: x + 12, TextY: y + 34, KindY: y + 16,
		Kind: strings.ToLower(kind), Label: label, Full: name, URL: entityURL(ref)}
}
