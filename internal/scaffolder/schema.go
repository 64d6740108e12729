package scaffolder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Schema is a compiled JSON Schema (draft-07 unless it names another with $schema), as used for
// template parameters and action inputs and outputs.
type Schema struct {
	compiled *jsonschema.Schema
	// Raw is the schema document as written, for /v2/actions and /parameter-schema.
	Raw any
}

// ValidationError is one failed rule, in the shape of the `jsonschema` npm package that Backstage
// returns from POST /v2/tasks: `property` and `path` name the field, `stack` is property + message.
type ValidationError struct {
	Path     []any  `json:"path"`
	Property string `json:"property"`
	Message  string `json:"message"`
	Name     string `json:"name"`
	Argument any    `json:"argument,omitempty"`
	Stack    string `json:"stack"`
}

func (e ValidationError) Error() string { return e.Stack }

// ValidationErrors is a list of failed rules; Error joins them.
type ValidationErrors []ValidationError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Stack
	}
	return strings.Join(parts, ", ")
}

// refusingLoader keeps schemas from reading anything: a template's schema is user input, and a $ref
// to file:///etc/passwd or to an internal URL must not be followed.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema references to other documents (%s) are not allowed", url)
}

var schemaSeq atomic.Int64

// CompileSchema compiles doc (an engine value or plain Go JSON value). name appears in errors.
func CompileSchema(name string, doc any) (*Schema, error) {
	goDoc := nunjucks.ToGo(nunjucks.FromGo(doc))
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(refusingLoader{})
	loc := "mem://schema/" + strconv.FormatInt(schemaSeq.Add(1), 10) + ".json"
	if err := c.AddResource(loc, goDoc); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "%s is not a valid JSON Schema: %v", name, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "%s is not a valid JSON Schema: %v", name, err)
	}
	return &Schema{compiled: s, Raw: doc}, nil
}

// MustCompileSchema is CompileSchema for schemas written in Go source.
func MustCompileSchema(name string, doc any) *Schema {
	s, err := CompileSchema(name, doc)
	if err != nil {
		panic(err)
	}
	return s
}

var printer = message.NewPrinter(language.English)

// Validate checks v (an engine value) and returns the failures, nil when v is valid.
func (s *Schema) Validate(v any) ValidationErrors {
	err := s.compiled.Validate(nunjucks.ToGo(v))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return ValidationErrors{{Property: "instance", Message: err.Error(), Stack: "instance " + err.Error()}}
	}
	var out ValidationErrors
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		out = append(out, toValidationError(e))
	}
	walk(ve)
	return out
}

func toValidationError(e *jsonschema.ValidationError) ValidationError {
	path := make([]any, 0, len(e.InstanceLocation))
	prop := "instance"
	for _, p := range e.InstanceLocation {
		if n, err := strconv.Atoi(p); err == nil {
			path = append(path, n)
			prop += "[" + p + "]"
		} else {
			path = append(path, p)
			prop += "." + p
		}
	}
	var name, msg string
	var argument any
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		name = "required"
		// Name the missing field itself, as the npm library does, so a form can point at it.
		argument = k.Missing[0]
		msg = fmt.Sprintf("requires property %q", k.Missing[0])
		if len(k.Missing) > 1 {
			quoted := make([]string, len(k.Missing))
			for i, m := range k.Missing {
				quoted[i] = strconv.Quote(m)
			}
			msg = "requires properties " + strings.Join(quoted, ", ")
			argument = k.Missing
		}
	case *kind.Type:
		name, argument = "type", k.Want
		msg = "is not of a type(s) " + strings.Join(k.Want, ",")
	case *kind.Enum:
		name, argument = "enum", k.Want
		vals := make([]string, len(k.Want))
		for i, w := range k.Want {
			vals[i] = fmt.Sprint(w)
		}
		msg = "is not one of enum values: " + strings.Join(vals, ",")
	case *kind.Pattern:
		name, argument = "pattern", k.Want
		msg = fmt.Sprintf("does not match pattern %q", k.Want)
	case *kind.MinLength:
		name, argument = "minLength", k.Want
		msg = fmt.Sprintf("does not meet minimum length of %d", k.Want)
	case *kind.MaxLength:
		name, argument = "maxLength", k.Want
		msg = fmt.Sprintf("does not meet maximum length of %d", k.Want)
	case *kind.AdditionalProperties:
		name, argument = "additionalProperties", k.Properties
		msg = fmt.Sprintf("is not allowed to have the additional property %q", strings.Join(k.Properties, ", "))
	case *kind.Dependency:
		name, argument = "dependencies", k.Missing
		msg = fmt.Sprintf("property %s requires property %q", k.Prop, strings.Join(k.Missing, ", "))
	default:
		kp := e.ErrorKind.KeywordPath()
		if len(kp) > 0 {
			name = kp[len(kp)-1]
		}
		msg = e.ErrorKind.LocalizedString(printer)
	}
	return ValidationError{Path: path, Property: prop, Message: msg, Name: name, Argument: argument, Stack: prop + " " + msg}
}
