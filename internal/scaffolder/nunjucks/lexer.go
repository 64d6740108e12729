package nunjucks

import (
	"fmt"
	"regexp"
	"strings"
)

// The tokenizer follows nunjucks 3.2's lexer.js rule for rule, because the edge cases Backstage users
// meet (where a "-" ends a symbol, that 1e5 is a name, how lstripBlocks measures a line) come from it.

type tokenType int

const (
	tokData tokenType = iota
	tokComment
	tokBlockStart
	tokBlockEnd
	tokVariableStart
	tokVariableEnd
	tokWhitespace
	tokString
	tokInt
	tokFloat
	tokBoolean
	tokNone
	tokSymbol
	tokRegex
	tokOperator
	tokLeftParen
	tokRightParen
	tokLeftBracket
	tokRightBracket
	tokLeftCurly
	tokRightCurly
	tokComma
	tokColon
	tokTilde
	tokPipe
)

type token struct {
	typ   tokenType
	value string
	flags string // regex flags
	line  int
	col   int
}

const (
	whitespaceChars = " \n\t\r\u00a0"
	delimChars      = "()[]{}%*-+~/#,:|.<>=!"
	intChars        = "0123456789"
)

type tags struct {
	blockStart, blockEnd, varStart, varEnd, commentStart, commentEnd string
}

type lexer struct {
	src          string
	pos          int
	line, col    int
	inCode       bool
	tags         tags
	trimBlocks   bool
	lstripBlocks bool
}

func (l *lexer) finished() bool { return l.pos >= len(l.src) }

func (l *lexer) current() byte {
	if l.finished() {
		return 0
	}
	return l.src[l.pos]
}

func (l *lexer) forward() {
	if l.finished() {
		return
	}
	if l.src[l.pos] == '\n' {
		l.line++
		l.col = 0
	} else {
		l.col++
	}
	l.pos++
}

func (l *lexer) forwardN(n int) {
	for range n {
		l.forward()
	}
}

func (l *lexer) back() {
	l.pos--
	if l.pos >= 0 && l.src[l.pos] == '\n' {
		l.line--
		l.col = strings.LastIndexByte(l.src[:l.pos], '\n')
		l.col = l.pos - l.col - 1
	} else {
		l.col--
	}
}

func (l *lexer) matches(s string) bool { return strings.HasPrefix(l.src[l.pos:], s) }

func (l *lexer) extractString(s string) bool {
	if l.matches(s) {
		l.forwardN(len(s))
		return true
	}
	return false
}

// extractMatching takes characters while they are (breakOnMatch=false) or are not (true) in chars.
func (l *lexer) extractMatching(breakOnMatch bool, chars string) (string, bool) {
	if l.finished() {
		return "", false
	}
	start := l.pos
	in := func() bool { return strings.IndexByte(chars, l.current()) >= 0 }
	if breakOnMatch == in() {
		return "", true
	}
	l.forward()
	for !l.finished() && breakOnMatch != in() {
		l.forward()
	}
	return l.src[start:l.pos], true
}

func (l *lexer) extractUntil(chars string) (string, bool) { return l.extractMatching(true, chars) }
func (l *lexer) extract(chars string) (string, bool)      { return l.extractMatching(false, chars) }

var (
	intTokenRE  = regexp.MustCompile(`^[-+]?[0-9]+$`)
	lstripRE    = regexp.MustCompile(`^\s+$`)
	complexOps  = []string{"==", "===", "!=", "!==", "<=", ">=", "//", "**"}
	regexpFlags = "gimy"
)

func isComplexOp(s string) bool {
	for _, op := range complexOps {
		if op == s {
			return true
		}
	}
	return false
}

// next returns the next token, or nil at the end of the input.
func (l *lexer) next() (*token, error) {
	line, col := l.line, l.col
	tok := func(t tokenType, v string) *token { return &token{typ: t, value: v, line: line, col: col} }
	if l.finished() {
		return nil, nil
	}
	if l.inCode {
		cur := l.current()
		switch {
		case cur == '"' || cur == '\'':
			return tok(tokString, l.parseString(cur)), nil
		}
		if ws, _ := l.extract(whitespaceChars); ws != "" {
			return tok(tokWhitespace, ws), nil
		}
		if v, ok := l.extractEither(l.tags.blockEnd, "-"+l.tags.blockEnd); ok {
			l.inCode = false
			if l.trimBlocks {
				switch l.current() {
				case '\n':
					l.forward()
				case '\r':
					l.forward()
					if l.current() == '\n' {
						l.forward()
					} else {
						l.back()
					}
				}
			}
			return tok(tokBlockEnd, v), nil
		}
		if l.extractString(l.tags.varEnd) {
			l.inCode = false
			return tok(tokVariableEnd, l.tags.varEnd), nil
		}
		if l.extractString("-" + l.tags.varEnd) {
			l.inCode = false
			return tok(tokVariableEnd, "-"+l.tags.varEnd), nil
		}
		if cur == 'r' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/' {
			l.forwardN(2)
			var body strings.Builder
			for !l.finished() {
				if l.current() == '/' && l.src[l.pos-1] != '\\' {
					l.forward()
					break
				}
				body.WriteByte(l.current())
				l.forward()
			}
			var flags strings.Builder
			for !l.finished() && strings.IndexByte(regexpFlags, l.current()) >= 0 {
				flags.WriteByte(l.current())
				l.forward()
			}
			t := tok(tokRegex, body.String())
			t.flags = flags.String()
			return t, nil
		}
		if strings.IndexByte(delimChars, cur) >= 0 {
			l.forward()
			op := string(cur)
			if c := op + string(l.current()); !l.finished() && isComplexOp(c) {
				l.forward()
				op = c
				if c3 := op + string(l.current()); !l.finished() && isComplexOp(c3) {
					l.forward()
					op = c3
				}
			}
			typ := tokOperator
			switch op {
			case "(":
				typ = tokLeftParen
			case ")":
				typ = tokRightParen
			case "[":
				typ = tokLeftBracket
			case "]":
				typ = tokRightBracket
			case "{":
				typ = tokLeftCurly
			case "}":
				typ = tokRightCurly
			case ",":
				typ = tokComma
			case ":":
				typ = tokColon
			case "~":
				typ = tokTilde
			case "|":
				typ = tokPipe
			}
			return tok(typ, op), nil
		}
		word, _ := l.extractUntil(whitespaceChars + delimChars)
		switch {
		case intTokenRE.MatchString(word):
			if l.current() == '.' {
				l.forward()
				dec, _ := l.extract(intChars)
				return tok(tokFloat, word+"."+dec), nil
			}
			return tok(tokInt, word), nil
		case word == "true" || word == "false":
			return tok(tokBoolean, word), nil
		case word == "none" || word == "null":
			return tok(tokNone, word), nil
		case word != "":
			return tok(tokSymbol, word), nil
		}
		return nil, fmt.Errorf("unexpected value while parsing: %q", string(cur))
	}

	// Outside code: a tag opener or a run of text.
	if v, ok := l.extractEither(l.tags.blockStart+"-", l.tags.blockStart); ok {
		l.inCode = true
		return tok(tokBlockStart, v), nil
	}
	if v, ok := l.extractEither(l.tags.varStart+"-", l.tags.varStart); ok {
		l.inCode = true
		return tok(tokVariableStart, v), nil
	}
	beginChars := string([]byte{l.tags.blockStart[0], l.tags.varStart[0], l.tags.commentStart[0], l.tags.commentEnd[0]})
	var b strings.Builder
	inComment := false
	if l.matches(l.tags.commentStart) {
		inComment = true
		l.extractString(l.tags.commentStart)
		b.WriteString(l.tags.commentStart)
	}
	sawEnd := false
	for {
		data, ok := l.extractUntil(beginChars)
		if !ok {
			sawEnd = true
			break
		}
		b.WriteString(data)
		if (l.matches(l.tags.blockStart) || l.matches(l.tags.varStart) || l.matches(l.tags.commentStart)) && !inComment {
			if l.lstripBlocks && l.matches(l.tags.blockStart) && l.col > 0 && l.col <= b.Len() {
				s := b.String()
				if lastLine := s[len(s)-l.col:]; lstripRE.MatchString(lastLine) {
					s = s[:len(s)-l.col]
					if s == "" {
						return l.next()
					}
					b.Reset()
					b.WriteString(s)
				}
			}
			break
		} else if l.matches(l.tags.commentEnd) {
			if !inComment {
				return nil, fmt.Errorf("unexpected end of comment")
			}
			l.extractString(l.tags.commentEnd)
			b.WriteString(l.tags.commentEnd)
			break
		} else {
			if l.finished() {
				sawEnd = true
				break
			}
			b.WriteByte(l.current())
			l.forward()
		}
	}
	if sawEnd && inComment {
		return nil, fmt.Errorf("expected end of comment, got end of file")
	}
	if inComment {
		return tok(tokComment, b.String()), nil
	}
	return tok(tokData, b.String()), nil
}

// extractEither consumes a or, failing that, b, and says which.
func (l *lexer) extractEither(a, b string) (string, bool) {
	if l.extractString(a) {
		return a, true
	}
	if l.extractString(b) {
		return b, true
	}
	return "", false
}

func (l *lexer) parseString(delim byte) string {
	l.forward()
	var b strings.Builder
	for !l.finished() && l.current() != delim {
		c := l.current()
		if c == '\\' {
			l.forward()
			switch l.current() {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				if !l.finished() {
					b.WriteByte(l.current())
				}
			}
			l.forward()
		} else {
			b.WriteByte(c)
			l.forward()
		}
	}
	l.forward()
	return b.String()
}
