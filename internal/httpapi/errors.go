package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/errs"
)

// backstageError is Backstage's error body (reference §0), used on every Backstage-compatible route
// so that @backstage/catalog-client shows real messages.
type backstageError struct {
	status   int
	Err      backstageErrorDetail `json:"error"`
	Request  *backstageRequest    `json:"request,omitempty"`
	Response backstageResponse    `json:"response"`
}

type backstageErrorDetail struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

type backstageRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type backstageResponse struct {
	StatusCode int `json:"statusCode"`
}

func (e *backstageError) Error() string  { return e.Err.Message }
func (e *backstageError) GetStatus() int { return e.status }

// ContentType keeps Backstage's plain JSON content type instead of problem+json.
func (e *backstageError) ContentType(string) string { return "application/json; charset=utf-8" }

// backstageNames maps status codes to the error names Backstage's middleware derives them from.
var backstageNames = map[int]string{
	http.StatusNotModified:           "NotModifiedError",
	http.StatusBadRequest:            "InputError",
	http.StatusUnauthorized:          "AuthenticationError",
	http.StatusForbidden:             "NotAllowedError",
	http.StatusNotFound:              "NotFoundError",
	http.StatusConflict:              "ConflictError",
	http.StatusRequestEntityTooLarge: "PayloadTooLargeError",
	http.StatusUnprocessableEntity:   "InputError",
	http.StatusNotImplemented:        "NotImplementedError",
	http.StatusServiceUnavailable:    "ServiceUnavailableError",
}

// statusOf maps an errs code to an HTTP status.
func statusOf(code errs.Code) int { return errs.HTTPStatus(code) }

// isBackstagePath tells routes whose clients expect Backstage's error body.
func isBackstagePath(path string) bool {
	return strings.HasPrefix(path, "/api/catalog") || strings.HasPrefix(path, "/api/techdocs") ||
		strings.HasPrefix(path, "/api/scaffolder") || strings.HasPrefix(path, "/api/search") ||
		strings.HasPrefix(path, "/api/kubernetes")
}

// installErrorModel makes huma's own errors (validation, body too large) take the body each route
// family expects. Huma's default problem+json stays for Portal's own routes.
func installErrorModel() {
	defaultNew := huma.NewErrorWithContext
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, details ...error) huma.StatusError {
		if ctx == nil || !isBackstagePath(ctx.URL().Path) {
			return defaultNew(ctx, status, msg, details...)
		}
		if status == http.StatusUnprocessableEntity {
			// Backstage reports malformed input as 400, never 422.
			status = http.StatusBadRequest
		}
		message := msg
		var parts []string
		for _, d := range details {
			if d != nil {
				parts = append(parts, d.Error())
			}
		}
		if len(parts) > 0 {
			if message == "validation failed" || message == "" {
				message = "Malformed request: " + strings.Join(parts, "; ")
			} else {
				message += ": " + strings.Join(parts, "; ")
			}
		}
		name := backstageNames[status]
		if name == "" {
			name = "Error"
		}
		u := ctx.URL()
		return &backstageError{
			status:   status,
			Err:      backstageErrorDetail{Name: name, Message: message},
			Request:  &backstageRequest{Method: ctx.Method(), URL: redactedURI(u)},
			Response: backstageResponse{StatusCode: status},
		}
	}
}

type requestInfoKey struct{}

// backstageErr turns a domain error into Backstage's error body; internal details never leak.
func backstageErr(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	status := statusOf(errs.CodeOf(err))
	name := backstageNames[status]
	if name == "" {
		name = "Error"
	}
	be := &backstageError{status: status, Err: backstageErrorDetail{Name: name, Message: errs.MessageOf(err)},
		Response: backstageResponse{StatusCode: status}}
	if info, ok := ctx.Value(requestInfoKey{}).(backstageRequest); ok {
		be.Request = &info
	}
	return be
}

// inputErr is a 400 with Backstage's body.
func inputErr(ctx context.Context, format string, args ...any) error {
	return backstageErr(ctx, errs.E(errs.Invalid, format, args...))
}
