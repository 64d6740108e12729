package httpapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// WebhookFunc handles one GitHub delivery, given as the request GitHub sent; it verifies the
// signature itself.
type WebhookFunc func(ctx context.Context, r *http.Request) (WebhookResult, error)

// WebhookResult says what a delivery caused.
type WebhookResult struct {
	Ignored    bool `json:"ignored,omitempty" doc:"The event is not a push (a ping, say)"`
	Refreshed  int  `json:"refreshed" doc:"Entities scheduled for processing now"`
	Rediscover bool `json:"rediscover" doc:"GitHub discovery runs again: a catalog file appeared or disappeared"`
}

type webhookInput struct {
	Event       string `header:"X-GitHub-Event" required:"true" doc:"push; other events are acknowledged and ignored"`
	Delivery    string `header:"X-GitHub-Delivery"`
	Signature   string `header:"X-Hub-Signature-256" doc:"sha256=<HMAC of the body with github.webhookSecret>"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"application/json"`
}

type webhookOutput struct {
	Body WebhookResult
}

func (s *Server) registerWebhook() {
	huma.Register(s.api, huma.Operation{
		OperationID: "githubWebhook", Method: http.MethodPost, Path: "/api/catalog/github/webhook",
		Summary: "Receive a GitHub push delivery", Tags: []string{catalogTag},
		Description: "Authenticated by the delivery's X-Hub-Signature-256 HMAC, not a bearer token. " +
			"Entities that read a pushed file are processed again at once.",
		DefaultStatus:    http.StatusAccepted,
		MaxBodyBytes:     25 << 20, // GitHub's own cap on a delivery
		SkipValidateBody: true,     // the body is GitHub's JSON, checked by its signature and parser
		Metadata:         map[string]any{signedOp: true},
		Errors:           []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *webhookInput) (*webhookOutput, error) {
		// The signature covers the exact bytes GitHub sent, so the handler gets them untouched.
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/catalog/github/webhook", bytes.NewReader(in.RawBody))
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		r.Header.Set("X-GitHub-Event", in.Event)
		r.Header.Set("X-GitHub-Delivery", in.Delivery)
		r.Header.Set("X-Hub-Signature-256", in.Signature)
		r.Header.Set("Content-Type", in.ContentType)
		res, err := s.opts.GitHubWebhook(ctx, r)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return &webhookOutput{Body: res}, nil
	})
}
