package deploy

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// ObjectDiff is what applying one object would change.
type ObjectDiff struct {
	Object string `json:"object" example:"Deployment/billpay/payment-service"`
	// Action is create, update or unchanged.
	Action string `json:"action" enum:"create,update,unchanged"`
	// Diff is a unified diff of the live object and the object as the server would store it (YAML, without
	// status and server-managed metadata).
	Diff string `json:"diff,omitempty"`
}

// serverFields are metadata the API server manages; they differ on every write and say nothing about a change.
var serverFields = []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"}

// comparable returns obj without status and server-managed metadata, as YAML.
func comparable(obj Object) string {
	o := obj.Clone()
	delete(o, "status")
	if md := o.Metadata(); md != nil {
		for _, f := range serverFields {
			delete(md, f)
		}
		if a, ok := md["annotations"].(map[string]any); ok {
			delete(a, "deployment.kubernetes.io/revision")
			delete(a, AnnotationRelease)
			if len(a) == 0 {
				delete(md, "annotations")
			}
		}
	}
	out, _ := yaml.Marshal(map[string]any(o))
	return string(out)
}

// DiffObjects compares a live object (nil when absent) with the same object after a dry-run apply.
func DiffObjects(live, applied Object) ObjectDiff {
	d := ObjectDiff{Object: applied.Key()}
	after := comparable(applied)
	if live == nil {
		d.Action = "create"
		d.Diff = unifiedDiff("", after, d.Object)
		return d
	}
	before := comparable(live)
	if before == after {
		d.Action = "unchanged"
		return d
	}
	d.Action = "update"
	d.Diff = unifiedDiff(before, after, d.Object)
	return d
}

// unifiedDiff is a line diff in unified format with three lines of context.
func unifiedDiff(a, b, name string) string {
	al, bl := splitLines(a), splitLines(b)
	// Longest common subsequence; objects are small, so the quadratic table is fine.
	n, m := len(al), len(bl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
		ai   int
		bi   int
	}
	var ops []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			ops = append(ops, line{' ', al[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, line{'-', al[i], i, j})
			i++
		default:
			ops = append(ops, line{'+', bl[j], i, j})
			j++
		}
	}
	const context = 3
	var out strings.Builder
	out.WriteString("--- live/" + name + "\n+++ applied/" + name + "\n")
	for k := 0; k < len(ops); {
		if ops[k].op == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		for end < len(ops) {
			if ops[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].op == ' ' {
				run++
			}
			if run-end > 2*context || run == len(ops) {
				end = min(len(ops), end+context)
				break
			}
			end = run
		}
		aStart, bStart, aLen, bLen := ops[start].ai+1, ops[start].bi+1, 0, 0
		var body strings.Builder
		for _, l := range ops[start:end] {
			if l.op != '+' {
				aLen++
			}
			if l.op != '-' {
				bLen++
			}
			body.WriteByte(l.op)
			body.WriteString(l.text)
			body.WriteByte('\n')
		}
		if aLen == 0 {
			aStart--
		}
		if bLen == 0 {
			bStart--
		}
		out.WriteString("@@ -" + itoa(aStart) + "," + itoa(aLen) + " +" + itoa(bStart) + "," + itoa(bLen) + " @@\n")
		out.WriteString(body.String())
		k = end
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
