package nunjucks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The parser follows nunjucks 3.2's parser.js, including its precedence ladder (filters bind tighter
// than binary operators but looser than unary minus; + is looser than -), so that an expression
// written for Backstage means the same thing here.

// ---- template nodes ----

type node interface{}

type outputNode struct {
	exprs []expr // dataExpr for template text
}

type ifNode struct {
	cond  expr
	body  []node
	else_ []node
}

type forNode struct {
	names []string
	arr   expr
	body  []node
	else_ []node
}

type setNode struct {
	targets []string
	value   expr   // nil for a block set
	body    []node // the captured block
}

type macroNode struct {
	name     string
	args     []string
	defaults map[string]expr
	body     []node
}

type switchCase struct {
	cond expr
	body []node
}

type switchNode struct {
	expr     expr
	cases    []switchCase
	default_ []node
	hasDef   bool
}

// ---- expressions ----

type expr interface{}

type dataExpr struct{ text string }
type literalExpr struct{ v any }
type symbolExpr struct {
	name      string
	line, col int
}
type arrayExpr struct{ items []expr }
type pairExpr struct {
	key   string
	value expr
}
type dictExpr struct{ pairs []pairExpr }
type lookupExpr struct {
	target expr
	key    expr
}
type sliceExpr struct{ start, stop, step expr }
type callExpr struct {
	fn     expr
	name   string
	args   []expr
	kwargs []pairExpr
	line   int
	col    int
}
type filterExpr struct {
	name   string
	target expr // nil only while a filter block is parsed
	body   []node
	args   []expr
	kwargs []pairExpr
	line   int
	col    int
}
type inlineIfExpr struct{ cond, body, else_ expr }
type binaryExpr struct {
	op          string
	left, right expr
}
type notExpr struct{ target expr }
type unaryExpr struct {
	op     string
	target expr
}
type isExpr struct {
	left   expr
	test   string
	args   []expr
	negate bool
}
type compareOp struct {
	op   string
	expr expr
}
type compareExpr struct {
	first expr
	ops   []compareOp
}

// ---- parser ----

// SyntaxError is a template that cannot be parsed.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template syntax error at line %d, column %d: %s", e.Line+1, e.Col+1, e.Msg)
}

type parser struct {
	lex                   *lexer
	peeked                []*token
	breakOnBlocks         []string
	dropLeadingWhitespace bool
	depth, maxDepth       int
	jinjaSlices           bool
}

func (p *parser) fail(t *token, format string, args ...any) error {
	line, col := p.lex.line, p.lex.col
	if t != nil {
		line, col = t.line, t.col
	}
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) nextRaw() (*token, error) {
	if n := len(p.peeked); n > 0 {
		t := p.peeked[n-1]
		p.peeked = p.peeked[:n-1]
		return t, nil
	}
	return p.lex.next()
}

// nextToken returns the next token that is not whitespace.
func (p *parser) nextToken() (*token, error) {
	for {
		t, err := p.nextRaw()
		if err != nil {
			return nil, &SyntaxError{Line: p.lex.line, Col: p.lex.col, Msg: err.Error()}
		}
		if t == nil || t.typ != tokWhitespace {
			return t, nil
		}
	}
}

func (p *parser) peekToken() (*token, error) {
	t, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if t != nil {
		p.peeked = append(p.peeked, t)
	}
	return t, nil
}

func (p *parser) pushToken(t *token) {
	if t != nil {
		p.peeked = append(p.peeked, t)
	}
}

func (p *parser) skip(typ tokenType) (bool, error) {
	t, err := p.nextToken()
	if err != nil {
		return false, err
	}
	if t == nil || t.typ != typ {
		p.pushToken(t)
		return false, nil
	}
	return true, nil
}

func (p *parser) skipValue(typ tokenType, v string) (bool, error) {
	t, err := p.nextToken()
	if err != nil {
		return false, err
	}
	if t == nil || t.typ != typ || t.value != v {
		p.pushToken(t)
		return false, nil
	}
	return true, nil
}

func (p *parser) skipSymbol(v string) (bool, error) { return p.skipValue(tokSymbol, v) }

func (p *parser) expect(typ tokenType, what string) (*token, error) {
	t, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, p.fail(nil, "expected %s, got end of file", what)
	}
	if t.typ != typ {
		return nil, p.fail(t, "expected %s, got %q", what, t.value)
	}
	return t, nil
}

func (p *parser) enter(t *token) error {
	p.depth++
	if p.depth > p.maxDepth {
		return p.fail(t, "template nested more than %d levels deep", p.maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) advanceAfterBlockEnd(name string) (*token, error) {
	if name == "" {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, p.fail(nil, "unexpected end of file")
		}
		if t.typ != tokSymbol {
			return nil, p.fail(t, "expected a block name, got %q", t.value)
		}
		t, _ = p.nextToken()
		name = t.value
	}
	t, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if t == nil || t.typ != tokBlockEnd {
		return nil, p.fail(t, "expected block end in %s statement", name)
	}
	if strings.HasPrefix(t.value, "-") {
		p.dropLeadingWhitespace = true
	}
	return t, nil
}

func (p *parser) advanceAfterVariableEnd() error {
	t, err := p.nextToken()
	if err != nil {
		return err
	}
	if t == nil || t.typ != tokVariableEnd {
		return p.fail(t, "expected variable end")
	}
	p.dropLeadingWhitespace = strings.HasPrefix(t.value, "-")
	return nil
}

var (
	leadingSpaceRE  = regexp.MustCompile(`^\s*`)
	trailingSpaceRE = regexp.MustCompile(`\s*$`)
)

// parseNodes parses template content until end of input or one of p.breakOnBlocks. stopped reports
// that a break tag was seen (its name is left to be read).
func (p *parser) parseNodes() (out []node, err error) {
	for {
		t, err := p.nextToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return out, nil
		}
		switch t.typ {
		case tokData:
			data := t.value
			next, err := p.peekToken()
			if err != nil {
				return nil, err
			}
			if p.dropLeadingWhitespace {
				data = leadingSpaceRE.ReplaceAllString(data, "")
				p.dropLeadingWhitespace = false
			}
			if next != nil && ((next.typ == tokBlockStart && strings.HasSuffix(next.value, "-")) ||
				(next.typ == tokVariableStart && strings.HasSuffix(next.value, "-")) ||
				(next.typ == tokComment && len(next.value) > len(p.lex.tags.commentStart) && next.value[len(p.lex.tags.commentStart)] == '-')) {
				data = trailingSpaceRE.ReplaceAllString(data, "")
			}
			out = append(out, &outputNode{exprs: []expr{&dataExpr{text: data}}})
		case tokBlockStart:
			p.dropLeadingWhitespace = false
			n, stop, err := p.parseStatement()
			if err != nil {
				return nil, err
			}
			if stop {
				return out, nil
			}
			if n != nil {
				out = append(out, n)
			}
		case tokVariableStart:
			e, err := p.parseExpression()
			if err != nil {
				return nil, err
			}
			p.dropLeadingWhitespace = false
			if err := p.advanceAfterVariableEnd(); err != nil {
				return nil, err
			}
			out = append(out, &outputNode{exprs: []expr{e}})
		case tokComment:
			v := t.value
			end := len(v) - len(p.lex.tags.commentEnd) - 1
			p.dropLeadingWhitespace = end >= 0 && v[end] == '-'
		default:
			return nil, p.fail(t, "unexpected token at top level: %q", t.value)
		}
	}
}

func (p *parser) parseUntilBlocks(names ...string) ([]node, error) {
	prev := p.breakOnBlocks
	p.breakOnBlocks = names
	defer func() { p.breakOnBlocks = prev }()
	return p.parseNodes()
}

// parseStatement parses a {% tag %}; stop is true when the tag is one the caller breaks on.
func (p *parser) parseStatement() (n node, stop bool, err error) {
	t, err := p.peekToken()
	if err != nil {
		return nil, false, err
	}
	if t == nil || t.typ != tokSymbol {
		return nil, false, p.fail(t, "tag name expected")
	}
	for _, b := range p.breakOnBlocks {
		if b == t.value {
			return nil, true, nil
		}
	}
	if err := p.enter(t); err != nil {
		return nil, false, err
	}
	defer p.leave()
	switch t.value {
	case "raw", "verbatim":
		n, err = p.parseRaw(t.value)
	case "if", "ifAsync":
		n, err = p.parseIf()
	case "for", "asyncEach", "asyncAll":
		n, err = p.parseFor()
	case "set":
		n, err = p.parseSet()
	case "macro":
		n, err = p.parseMacro()
	case "filter":
		n, err = p.parseFilterStatement()
	case "switch":
		n, err = p.parseSwitch()
	case "include", "import", "from", "extends", "block", "call":
		// Backstage's templater has no loader either; in a sandbox a template reads nothing but its
		// own text.
		return nil, false, p.fail(t, "the %q tag is not supported: templates cannot load other templates", t.value)
	default:
		return nil, false, p.fail(t, "unknown block tag: %s", t.value)
	}
	return n, false, err
}

func (p *parser) parseRaw(tag string) (node, error) {
	end := "end" + tag
	begun, err := p.advanceAfterBlockEnd("")
	if err != nil {
		return nil, err
	}
	_ = begun
	re := regexp.MustCompile(`^([\s\S]*?)` + regexp.QuoteMeta(p.lex.tags.blockStart) + `\s*(` + tag + `|` + end + `)\s*` + regexp.QuoteMeta(p.lex.tags.blockEnd))
	level := 1
	var b strings.Builder
	for level > 0 {
		m := re.FindStringSubmatchIndex(p.lex.src[p.lex.pos:])
		if m == nil {
			break
		}
		all := p.lex.src[p.lex.pos : p.lex.pos+m[1]]
		pre := p.lex.src[p.lex.pos : p.lex.pos+m[3]]
		name := p.lex.src[p.lex.pos+m[4] : p.lex.pos+m[5]]
		if name == tag {
			level++
		} else {
			level--
		}
		if level == 0 {
			b.WriteString(pre)
			p.lex.forwardN(len(pre))
		} else {
			b.WriteString(all)
			p.lex.forwardN(len(all))
		}
	}
	if level > 0 {
		return nil, p.fail(nil, "expected %s, got end of file", end)
	}
	// The lexer is now at the {% endraw %} tag, which the caller reads as an ordinary block.
	if _, err := p.expect(tokBlockStart, "block start"); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(""); err != nil {
		return nil, err
	}
	return &outputNode{exprs: []expr{&dataExpr{text: b.String()}}}, nil
}

func (p *parser) parseIf() (node, error) {
	tag, err := p.nextToken() // if, elif, elseif
	if err != nil {
		return nil, err
	}
	n := &ifNode{}
	if n.cond, err = p.parseExpression(); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(tag.value); err != nil {
		return nil, err
	}
	if n.body, err = p.parseUntilBlocks("elif", "elseif", "else", "endif"); err != nil {
		return nil, err
	}
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, p.fail(nil, "expected elif, else, or endif, got end of file")
	}
	switch t.value {
	case "elif", "elseif":
		e, err := p.parseIf()
		if err != nil {
			return nil, err
		}
		n.else_ = []node{e}
	case "else":
		if _, err := p.advanceAfterBlockEnd(""); err != nil {
			return nil, err
		}
		if n.else_, err = p.parseUntilBlocks("endif"); err != nil {
			return nil, err
		}
		if _, err := p.advanceAfterBlockEnd(""); err != nil {
			return nil, err
		}
	case "endif":
		if _, err := p.advanceAfterBlockEnd(""); err != nil {
			return nil, err
		}
	default:
		return nil, p.fail(t, "expected elif, else, or endif, got %q", t.value)
	}
	return n, nil
}

func (p *parser) parseFor() (node, error) {
	forTok, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	endBlock := map[string]string{"for": "endfor", "asyncEach": "endeach", "asyncAll": "endall"}[forTok.value]
	n := &forNode{}
	name, err := p.expect(tokSymbol, "variable name for loop")
	if err != nil {
		return nil, err
	}
	n.names = []string{name.value}
	for {
		ok, err := p.skip(tokComma)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		nt, err := p.expect(tokSymbol, "variable name for loop")
		if err != nil {
			return nil, err
		}
		n.names = append(n.names, nt.value)
	}
	if ok, err := p.skipSymbol("in"); err != nil {
		return nil, err
	} else if !ok {
		return nil, p.fail(forTok, `expected "in" keyword for loop`)
	}
	if n.arr, err = p.parseExpression(); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(forTok.value); err != nil {
		return nil, err
	}
	if n.body, err = p.parseUntilBlocks(endBlock, "else"); err != nil {
		return nil, err
	}
	if ok, err := p.skipSymbol("else"); err != nil {
		return nil, err
	} else if ok {
		if _, err := p.advanceAfterBlockEnd("else"); err != nil {
			return nil, err
		}
		if n.else_, err = p.parseUntilBlocks(endBlock); err != nil {
			return nil, err
		}
	}
	if _, err := p.advanceAfterBlockEnd(""); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseSet() (node, error) {
	tag, _ := p.nextToken()
	n := &setNode{}
	for {
		t, err := p.expect(tokSymbol, "variable name in set tag")
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, t.value)
		ok, err := p.skip(tokComma)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
	}
	ok, err := p.skipValue(tokOperator, "=")
	if err != nil {
		return nil, err
	}
	if !ok {
		if ok, err := p.skip(tokBlockEnd); err != nil {
			return nil, err
		} else if !ok {
			return nil, p.fail(tag, "expected = or block end in set tag")
		}
		if n.body, err = p.parseUntilBlocks("endset"); err != nil {
			return nil, err
		}
		if _, err := p.advanceAfterBlockEnd(""); err != nil {
			return nil, err
		}
		return n, nil
	}
	if n.value, err = p.parseExpression(); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(tag.value); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseMacro() (node, error) {
	tag, _ := p.nextToken()
	name, err := p.expect(tokSymbol, "macro name")
	if err != nil {
		return nil, err
	}
	n := &macroNode{name: name.value, defaults: map[string]expr{}}
	if _, err := p.expect(tokLeftParen, "( after macro name"); err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		if ok, err := p.skip(tokRightParen); err != nil {
			return nil, err
		} else if ok {
			break
		}
		if i > 0 {
			if _, err := p.expect(tokComma, "comma between macro arguments"); err != nil {
				return nil, err
			}
		}
		a, err := p.expect(tokSymbol, "macro argument name")
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, a.value)
		if ok, err := p.skipValue(tokOperator, "="); err != nil {
			return nil, err
		} else if ok {
			d, err := p.parseExpression()
			if err != nil {
				return nil, err
			}
			n.defaults[a.value] = d
		}
	}
	if _, err := p.advanceAfterBlockEnd(tag.value); err != nil {
		return nil, err
	}
	if n.body, err = p.parseUntilBlocks("endmacro"); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(""); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) parseFilterStatement() (node, error) {
	tag, _ := p.nextToken()
	name, err := p.parseFilterName()
	if err != nil {
		return nil, err
	}
	f := &filterExpr{name: name.value, line: name.line, col: name.col}
	if t, err := p.peekToken(); err != nil {
		return nil, err
	} else if t != nil && t.typ == tokLeftParen {
		if f.args, f.kwargs, err = p.parseSignature(); err != nil {
			return nil, err
		}
	}
	if _, err := p.advanceAfterBlockEnd(tag.value); err != nil {
		return nil, err
	}
	if f.body, err = p.parseUntilBlocks("endfilter"); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(""); err != nil {
		return nil, err
	}
	return &outputNode{exprs: []expr{f}}, nil
}

func (p *parser) parseSwitch() (node, error) {
	tag, _ := p.nextToken()
	n := &switchNode{}
	var err error
	if n.expr, err = p.parseExpression(); err != nil {
		return nil, err
	}
	if _, err := p.advanceAfterBlockEnd(tag.value); err != nil {
		return nil, err
	}
	// Text between {% switch %} and the first {% case %} is dropped, as nunjucks does.
	if _, err := p.parseUntilBlocks("case", "default", "endswitch"); err != nil {
		return nil, err
	}
	for {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, p.fail(nil, "expected endswitch, got end of file")
		}
		switch t.value {
		case "case":
			_, _ = p.nextToken()
			c := switchCase{}
			if c.cond, err = p.parseExpression(); err != nil {
				return nil, err
			}
			if _, err := p.advanceAfterBlockEnd("case"); err != nil {
				return nil, err
			}
			if c.body, err = p.parseUntilBlocks("case", "default", "endswitch"); err != nil {
				return nil, err
			}
			n.cases = append(n.cases, c)
		case "default":
			if _, err := p.advanceAfterBlockEnd(""); err != nil {
				return nil, err
			}
			n.hasDef = true
			if n.default_, err = p.parseUntilBlocks("case", "default", "endswitch"); err != nil {
				return nil, err
			}
		case "endswitch":
			if _, err := p.advanceAfterBlockEnd(""); err != nil {
				return nil, err
			}
			return n, nil
		default:
			return nil, p.fail(t, "expected case, default or endswitch, got %q", t.value)
		}
	}
}

// ---- expressions ----

func (p *parser) parseExpression() (expr, error) {
	t, _ := p.peekToken()
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseInlineIf()
}

func (p *parser) parseInlineIf() (expr, error) {
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if ok, err := p.skipSymbol("if"); err != nil {
		return nil, err
	} else if ok {
		cond, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		e := &inlineIfExpr{cond: cond, body: n}
		if ok, err := p.skipSymbol("else"); err != nil {
			return nil, err
		} else if ok {
			if e.else_, err = p.parseOr(); err != nil {
				return nil, err
			}
		}
		return e, nil
	}
	return n, nil
}

func (p *parser) parseBinaryChain(next func() (expr, error), typ tokenType, ops ...string) (expr, error) {
	n, err := next()
	if err != nil {
		return nil, err
	}
	for {
		matched := ""
		for _, op := range ops {
			var ok bool
			if typ == tokSymbol {
				ok, err = p.skipSymbol(op)
			} else {
				ok, err = p.skipValue(typ, op)
			}
			if err != nil {
				return nil, err
			}
			if ok {
				matched = op
				break
			}
		}
		if matched == "" {
			return n, nil
		}
		r, err := next()
		if err != nil {
			return nil, err
		}
		n = &binaryExpr{op: matched, left: n, right: r}
	}
}

func (p *parser) parseOr() (expr, error) {
	return p.parseBinaryChain(p.parseAnd, tokSymbol, "or")
}

func (p *parser) parseAnd() (expr, error) {
	return p.parseBinaryChain(p.parseNot, tokSymbol, "and")
}

func (p *parser) parseNot() (expr, error) {
	t, _ := p.peekToken()
	if ok, err := p.skipSymbol("not"); err != nil {
		return nil, err
	} else if ok {
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		n, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &notExpr{target: n}, nil
	}
	return p.parseIn()
}

func (p *parser) parseIn() (expr, error) {
	n, err := p.parseIs()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.nextToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return n, nil
		}
		invert := t.typ == tokSymbol && t.value == "not"
		if !invert {
			p.pushToken(t)
		}
		ok, err := p.skipSymbol("in")
		if err != nil {
			return nil, err
		}
		if !ok {
			if invert {
				p.pushToken(t)
			}
			return n, nil
		}
		r, err := p.parseIs()
		if err != nil {
			return nil, err
		}
		n = &binaryExpr{op: "in", left: n, right: r}
		if invert {
			n = &notExpr{target: n}
		}
	}
}

func (p *parser) parseIs() (expr, error) {
	n, err := p.parseCompare()
	if err != nil {
		return nil, err
	}
	ok, err := p.skipSymbol("is")
	if err != nil || !ok {
		return n, err
	}
	neg, err := p.skipSymbol("not")
	if err != nil {
		return nil, err
	}
	right, err := p.parseCompare()
	if err != nil {
		return nil, err
	}
	is := &isExpr{left: n, negate: neg}
	switch r := right.(type) {
	case *symbolExpr:
		is.test = r.name
	case *callExpr:
		s, ok := r.fn.(*symbolExpr)
		if !ok {
			return nil, p.fail(nil, "expected a test name after is")
		}
		is.test, is.args = s.name, r.args
	case *literalExpr:
		// `x is none`, `x is true` and the like: nunjucks names the test after the literal's text.
		switch v := r.v.(type) {
		case nil:
			is.test = "null"
		case bool:
			is.test = strconv.FormatBool(v)
		default:
			return nil, p.fail(nil, "expected a test name after is")
		}
	default:
		return nil, p.fail(nil, "expected a test name after is")
	}
	return is, nil
}

var compareOps = map[string]bool{"==": true, "===": true, "!=": true, "!==": true, "<": true, ">": true, "<=": true, ">=": true}

func (p *parser) parseCompare() (expr, error) {
	first, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	var ops []compareOp
	for {
		t, err := p.nextToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			break
		}
		if t.typ != tokOperator || !compareOps[t.value] {
			p.pushToken(t)
			break
		}
		e, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		ops = append(ops, compareOp{op: t.value, expr: e})
	}
	if len(ops) == 0 {
		return first, nil
	}
	return &compareExpr{first: first, ops: ops}, nil
}

func (p *parser) parseConcat() (expr, error) {
	return p.parseBinaryChain(p.parseAdd, tokTilde, "~")
}
func (p *parser) parseAdd() (expr, error) {
	return p.parseBinaryChain(p.parseSub, tokOperator, "+")
}
func (p *parser) parseSub() (expr, error) {
	return p.parseBinaryChain(p.parseMul, tokOperator, "-")
}
func (p *parser) parseMul() (expr, error) {
	return p.parseBinaryChain(p.parseDiv, tokOperator, "*")
}
func (p *parser) parseDiv() (expr, error) {
	return p.parseBinaryChain(p.parseFloorDiv, tokOperator, "/")
}
func (p *parser) parseFloorDiv() (expr, error) {
	return p.parseBinaryChain(p.parseMod, tokOperator, "//")
}
func (p *parser) parseMod() (expr, error) {
	return p.parseBinaryChain(p.parsePow, tokOperator, "%")
}
func (p *parser) parsePow() (expr, error) {
	return p.parseBinaryChain(func() (expr, error) { return p.parseUnary(false) }, tokOperator, "**")
}

func (p *parser) parseUnary(noFilters bool) (expr, error) {
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	var n expr
	if ok, err := p.skipValue(tokOperator, "-"); err != nil {
		return nil, err
	} else if ok {
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		target, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		n = &unaryExpr{op: "-", target: target}
	} else if ok, err := p.skipValue(tokOperator, "+"); err != nil {
		return nil, err
	} else if ok {
		if err := p.enter(t); err != nil {
			return nil, err
		}
		defer p.leave()
		target, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		n = &unaryExpr{op: "+", target: target}
	} else if n, err = p.parsePrimary(); err != nil {
		return nil, err
	}
	if !noFilters {
		return p.parseFilter(n)
	}
	return n, nil
}

func (p *parser) parsePrimary() (expr, error) {
	t, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, p.fail(nil, "expected expression, got end of file")
	}
	var n expr
	switch t.typ {
	case tokString:
		n = &literalExpr{v: t.value}
	case tokInt:
		f, err := strconv.ParseFloat(strings.TrimPrefix(t.value, "+"), 64)
		if err != nil {
			return nil, p.fail(t, "invalid number %q", t.value)
		}
		n = &literalExpr{v: f}
	case tokFloat:
		f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(t.value, "+"), "."), 64)
		if err != nil {
			return nil, p.fail(t, "invalid number %q", t.value)
		}
		n = &literalExpr{v: f}
	case tokBoolean:
		n = &literalExpr{v: t.value == "true"}
	case tokNone:
		n = &literalExpr{v: nil}
	case tokRegex:
		re, err := compileJSRegexp(t.value, t.flags)
		if err != nil {
			return nil, p.fail(t, "%v", err)
		}
		n = &literalExpr{v: re}
	case tokSymbol:
		n = &symbolExpr{name: t.value, line: t.line, col: t.col}
	default:
		p.pushToken(t)
		if n, err = p.parseAggregate(); err != nil {
			return nil, err
		}
		if n == nil {
			return nil, p.fail(t, "unexpected token: %s", t.value)
		}
	}
	return p.parsePostfix(n)
}

func (p *parser) parsePostfix(n expr) (expr, error) {
	for {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		if t == nil {
			return n, nil
		}
		switch {
		case t.typ == tokLeftParen:
			if err := p.enter(t); err != nil {
				return nil, err
			}
			args, kwargs, err := p.parseSignature()
			p.leave()
			if err != nil {
				return nil, err
			}
			n = &callExpr{fn: n, name: nodeName(n), args: args, kwargs: kwargs, line: t.line, col: t.col}
		case t.typ == tokLeftBracket:
			if err := p.enter(t); err != nil {
				return nil, err
			}
			agg, err := p.parseAggregate()
			p.leave()
			if err != nil {
				return nil, err
			}
			arr, _ := agg.(*arrayExpr)
			if arr == nil || len(arr.items) != 1 {
				return nil, p.fail(t, "invalid index")
			}
			n = &lookupExpr{target: n, key: arr.items[0]}
		case t.typ == tokOperator && t.value == ".":
			_, _ = p.nextToken()
			v, err := p.nextToken()
			if err != nil {
				return nil, err
			}
			if v == nil || v.typ != tokSymbol {
				got := "end of file"
				if v != nil {
					got = v.value
				}
				return nil, p.fail(v, "expected name as lookup value, got %s", got)
			}
			n = &lookupExpr{target: n, key: &literalExpr{v: v.value}}
		default:
			return n, nil
		}
	}
}

func nodeName(n expr) string {
	switch x := n.(type) {
	case *symbolExpr:
		return x.name
	case *callExpr:
		return "the return value of (" + x.name + ")"
	case *lookupExpr:
		return nodeName(x.target) + `["` + nodeName(x.key) + `"]`
	case *literalExpr:
		return toStringJS(x.v)
	}
	return "--expression--"
}

func (p *parser) parseFilterName() (*token, error) {
	t, err := p.expect(tokSymbol, "filter name")
	if err != nil {
		return nil, err
	}
	name := t.value
	for {
		ok, err := p.skipValue(tokOperator, ".")
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		s, err := p.expect(tokSymbol, "filter name")
		if err != nil {
			return nil, err
		}
		name += "." + s.value
	}
	return &token{typ: tokSymbol, value: name, line: t.line, col: t.col}, nil
}

func (p *parser) parseFilter(n expr) (expr, error) {
	for {
		ok, err := p.skip(tokPipe)
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		name, err := p.parseFilterName()
		if err != nil {
			return nil, err
		}
		f := &filterExpr{name: name.value, target: n, line: name.line, col: name.col}
		if t, err := p.peekToken(); err != nil {
			return nil, err
		} else if t != nil && t.typ == tokLeftParen {
			if err := p.enter(t); err != nil {
				return nil, err
			}
			f.args, f.kwargs, err = p.parseSignature()
			p.leave()
			if err != nil {
				return nil, err
			}
		}
		n = f
	}
}

// parseAggregate parses ( ), [ ] or { }; it returns nil when the next token opens none of them.
func (p *parser) parseAggregate() (expr, error) {
	t, err := p.nextToken()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, p.fail(nil, "expected expression, got end of file")
	}
	if err := p.enter(t); err != nil {
		return nil, err
	}
	defer p.leave()
	var closeTyp tokenType
	switch t.typ {
	case tokLeftParen:
		closeTyp = tokRightParen
	case tokLeftBracket:
		closeTyp = tokRightBracket
	case tokLeftCurly:
		closeTyp = tokRightCurly
	default:
		return nil, nil
	}
	var items []expr
	var pairs []pairExpr
	count := 0
	for {
		nt, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		if nt == nil {
			return nil, p.fail(t, "expected %s, got end of file", closer(closeTyp))
		}
		if nt.typ == tokRightParen || nt.typ == tokRightBracket || nt.typ == tokRightCurly {
			// nunjucks accepts any closer here; so do we.
			_, _ = p.nextToken()
			break
		}
		if count > 0 {
			if ok, err := p.skip(tokComma); err != nil {
				return nil, err
			} else if !ok {
				return nil, p.fail(t, "expected comma after expression")
			}
		}
		count++
		if t.typ == tokLeftCurly {
			kt, err := p.nextToken()
			if err != nil {
				return nil, err
			}
			var key string
			switch {
			case kt == nil:
				return nil, p.fail(nil, "expected dict key, got end of file")
			case kt.typ == tokSymbol || kt.typ == tokString:
				key = kt.value
			default:
				return nil, p.fail(kt, "dict keys must be strings or names")
			}
			if ok, err := p.skip(tokColon); err != nil {
				return nil, err
			} else if !ok {
				return nil, p.fail(t, "expected colon after dict key")
			}
			v, err := p.parseExpression()
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, pairExpr{key: key, value: v})
			continue
		}
		if t.typ == tokLeftBracket && p.jinjaSlices {
			e, isSlice, err := p.parseSliceOrExpr()
			if err != nil {
				return nil, err
			}
			if isSlice && count == 1 {
				if _, err := p.expect(tokRightBracket, "]"); err != nil {
					return nil, err
				}
				return &arrayExpr{items: []expr{e}}, nil
			}
			items = append(items, e)
			continue
		}
		e, err := p.parseExpression()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	switch t.typ {
	case tokLeftParen:
		if len(items) == 1 {
			return items[0], nil
		}
		// nunjucks compiles (a, b) as a JavaScript comma expression: the last value.
		if len(items) == 0 {
			return nil, p.fail(t, "empty parentheses")
		}
		return items[len(items)-1], nil
	case tokLeftCurly:
		return &dictExpr{pairs: pairs}, nil
	}
	return &arrayExpr{items: items}, nil
}

// parseSliceOrExpr parses the inside of [ ] under Jinja compatibility, where a colon makes a slice.
func (p *parser) parseSliceOrExpr() (expr, bool, error) {
	s := &sliceExpr{}
	fields := []*expr{&s.start, &s.stop, &s.step}
	isSlice := false
	for i := 0; i < len(fields); i++ {
		t, err := p.peekToken()
		if err != nil {
			return nil, false, err
		}
		if t == nil {
			return nil, false, p.fail(nil, "expected ], got end of file")
		}
		if t.typ == tokRightBracket || (t.typ == tokComma && !isSlice) {
			break
		}
		if t.typ == tokColon {
			_, _ = p.nextToken()
			isSlice = true
			continue
		}
		e, err := p.parseExpression()
		if err != nil {
			return nil, false, err
		}
		*fields[i] = e
		if ok, err := p.skip(tokColon); err != nil {
			return nil, false, err
		} else if ok {
			isSlice = true
		} else {
			break
		}
	}
	if !isSlice {
		return s.start, false, nil
	}
	return s, true, nil
}

func closer(t tokenType) string {
	switch t {
	case tokRightParen:
		return ")"
	case tokRightBracket:
		return "]"
	}
	return "}"
}

// parseSignature parses a call's ( args, name=value ).
func (p *parser) parseSignature() ([]expr, []pairExpr, error) {
	if _, err := p.expect(tokLeftParen, "("); err != nil {
		return nil, nil, err
	}
	var args []expr
	var kwargs []pairExpr
	first := true
	for {
		t, err := p.peekToken()
		if err != nil {
			return nil, nil, err
		}
		if t == nil {
			return nil, nil, p.fail(nil, "expected ), got end of file")
		}
		if t.typ == tokRightParen {
			_, _ = p.nextToken()
			return args, kwargs, nil
		}
		if !first {
			if ok, err := p.skip(tokComma); err != nil {
				return nil, nil, err
			} else if !ok {
				return nil, nil, p.fail(t, "expected comma after expression")
			}
		}
		first = false
		a, err := p.parseExpression()
		if err != nil {
			return nil, nil, err
		}
		if ok, err := p.skipValue(tokOperator, "="); err != nil {
			return nil, nil, err
		} else if ok {
			s, isSym := a.(*symbolExpr)
			v, err := p.parseExpression()
			if err != nil {
				return nil, nil, err
			}
			if !isSym {
				return nil, nil, p.fail(t, "keyword argument name must be a name")
			}
			kwargs = append(kwargs, pairExpr{key: s.name, value: v})
			continue
		}
		args = append(args, a)
	}
}
