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
	graphLabelMax = 22
)

type graphSide struct {
	order  []string
	labels map[string][]string
	// out marks neighbours the entity points at (the arrow runs from the entity to them).
	out map[string]bool
}

func (s *graphSide) add(ref, label string, out bool) {
	if s.labels == nil {
		s.labels, s.out = map[string][]string{}, map[string]bool{}
	}
	if _, ok := s.labels[ref]; !ok {
		s.order = append(s.order, ref)
		s.out[ref] = out
	}
	for _, l := range s.labels[ref] {
		if l == label {
			return
		}
	}
	s.labels[ref] = append(s.labels[ref], label)
}

// balance moves neighbours from the end of a long side to a short one until the two differ by at most two, so an
// entity related mostly in one direction does not draw a tall, lopsided graph; the arrows still say which way
// each relation runs.
func balance(left, right *graphSide) {
	long, short := right, left
	if len(left.order) > len(right.order) {
		long, short = left, right
	}
	for len(long.order)-len(short.order) > 2 && len(long.order) > 3 {
		ref := long.order[len(long.order)-1]
		for _, l := range long.labels[ref] {
			short.add(ref, l, long.out[ref])
		}
		delete(long.labels, ref)
		long.order = long.order[:len(long.order)-1]
	}
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
			left.add(target, fwd, false)
		} else {
			right.add(target, t, true)
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
	balance(&left, &right)
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
		g.Nodes = append(g.Nodes, newGraphNodeRef(leftX, y, target))
		nx, ny, cx, cyMid := leftX+graphNodeW, y+graphNodeH/2, centerX, cy+graphNodeH/2
		path := curve(nx, ny, cx, cyMid)
		if left.out[target] {
			path = curve(cx, cyMid, nx, ny)
		}
		g.Edges = append(g.Edges, graphEdge{Path: path, Label: strings.Join(left.labels[target], ", "), LabelX: nx + 8, LabelY: ny - 6, Anchor: "start"})
	}
	for i, y := range column(nr) {
		target := right.order[i]
		g.Nodes = append(g.Nodes, newGraphNodeRef(rightX, y, target))
		nx, ny, cx, cyMid := rightX, y+graphNodeH/2, centerX+graphNodeW, cy+graphNodeH/2
		path := curve(cx, cyMid, nx, ny)
		if !right.out[target] {
			path = curve(nx, ny, cx, cyMid)
		}
		g.Edges = append(g.Edges, graphEdge{Path: path, Label: strings.Join(right.labels[target], ", "), LabelX: nx - 8, LabelY: ny - 6, Anchor: "end"})
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

// curve is a horizontal S-curve from (sx, sy) to just short of (ex, ey), where its arrowhead ends.
func curve(sx, sy, ex, ey int) string {
	mid, gap := (ex-sx)/2, 4
	if ex < sx {
		gap = -4
	}
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", sx, sy, sx+mid, sy, ex-mid, ey, ex-gap, ey)
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
