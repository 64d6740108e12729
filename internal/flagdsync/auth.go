package flagdsync

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/billpay/portal/internal/errs"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

// SelectorHeader is the metadata key flagd providers send the selector in.
const SelectorHeader = "flagd-selector"

// authorize finds the environment a call may read: the caller's key (or guest access) against the selector from the
// header or, for older clients, the request field.
func (s *Server) authorize(ctx context.Context, fieldSelector string) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key, err := presentedKey(md)
	if err != nil {
		return "", err
	}
	selector, err := selectorOf(md, fieldSelector)
	if err != nil {
		return "", err
	}
	want, err := parseSelector(selector)
	if err != nil {
		return "", err
	}

	k, err := s.flags.ResolveKey(key)
	if err != nil {
		return "", statusOf(err)
	}
	envs := s.flags.Environments()
	switch k.Kind {
	case flagservice.ClientKey:
		return "", status.Error(codes.PermissionDenied,
			"client keys are public, and flagd sync sends whole flag configurations with their targeting rules: use a server key of the environment")
	case flagservice.GuestKey:
		for _, e := range envs {
			if e.Name == k.Environment && e.ServerKeys > 0 {
				return "", status.Errorf(codes.Unauthenticated,
					"environment %q has server keys, so syncing it needs one: send authorization: Bearer <key> or x-api-key", e.Name)
			}
		}
	}
	if want == (selection{}) {
		return k.Environment, nil
	}
	env, err := want.resolve(envs, s.flags, k.Environment)
	if err != nil {
		return "", err
	}
	if env != k.Environment {
		if k.Kind == flagservice.GuestKey {
			return "", status.Errorf(codes.PermissionDenied, "without a key only the guest environment %q can be synced, not %q", k.Environment, env)
		}
		return "", status.Errorf(codes.PermissionDenied, "this key belongs to environment %q, not %q", k.Environment, env)
	}
	return env, nil
}

// presentedKey reads "authorization: Bearer <key>" or "x-api-key: <key>", the same two forms OFREP accepts.
func presentedKey(md metadata.MD) (string, error) {
	var keys []string
	for _, v := range md.Get("authorization") {
		scheme, token, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", status.Error(codes.Unauthenticated, "authorization must be \"Bearer <key>\"")
		}
		keys = append(keys, strings.TrimSpace(token))
	}
	for _, v := range md.Get("x-api-key") {
		if v = strings.TrimSpace(v); v != "" {
			keys = append(keys, v)
		}
	}
	for _, k := range keys[min(1, len(keys)):] {
		if k != keys[0] {
			// Picking one would make the result depend on which header a proxy happened to keep.
			return "", status.Error(codes.Unauthenticated, "more than one different key was sent")
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	return keys[0], nil
}

// selectorOf merges the header and the deprecated request field.
func selectorOf(md metadata.MD, field string) (string, error) {
	field = strings.TrimSpace(field)
	var header string
	for _, v := range md.Get(SelectorHeader) {
		v = strings.TrimSpace(v)
		if header != "" && v != header {
			return "", status.Errorf(codes.InvalidArgument, "the %s header was sent with different values", SelectorHeader)
		}
		header = v
	}
	switch {
	case header == "":
		return field, nil
	case field == "" || field == header:
		return header, nil
	}
	return "", status.Errorf(codes.InvalidArgument, "the %s header %q and the request's selector %q differ", SelectorHeader, header, field)
}

// selection is a parsed selector: an environment name, or a flagSetId that may be an environment name or the
// flagSetId in an environment's document metadata.
type selection struct {
	name      string
	flagSetID string
}

func parseSelector(sel string) (selection, error) {
	if sel == "" {
		return selection{}, nil
	}
	k, v, hasEq := strings.Cut(sel, "=")
	if !hasEq {
		return selection{name: sel}, nil
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	switch {
	case v == "":
	case k == "environment":
		return selection{name: v}, nil
	case k == "flagSetId":
		return selection{flagSetID: v}, nil
	}
	return selection{}, status.Errorf(codes.InvalidArgument,
		"selector %q: use an environment name, environment=<name> or flagSetId=<name or flagSetId>", sel)
}

// resolve finds the environment a selection names. A flagSetId shared by several environments' documents (one file
// imported everywhere) selects the caller's own environment among them, and is ambiguous otherwise.
func (sel selection) resolve(envs []flagservice.EnvironmentInfo, flags Flags, own string) (string, error) {
	want := sel.name + sel.flagSetID
	for _, e := range envs {
		if e.Name == want {
			return e.Name, nil
		}
	}
	if sel.flagSetID != "" {
		var found []string
		for _, e := range envs {
			snap, err := flags.Snapshot(e.Name)
			if err != nil {
				continue
			}
			if id, ok := snap.Set.Metadata()["flagSetId"].(string); ok && id == sel.flagSetID {
				found = append(found, e.Name)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case slices.Contains(found, own):
			return own, nil
		case len(found) > 1:
			return "", status.Errorf(codes.FailedPrecondition, "flagSetId %q is used by environments %s; select one by name",
				sel.flagSetID, strings.Join(found, ", "))
		}
	}
	return "", status.Errorf(codes.NotFound, "no flag environment is named %q", want)
}

// statusOf turns Portal's error codes into gRPC status codes.
func statusOf(err error) error {
	code := codes.Internal
	switch errs.CodeOf(err) {
	case errs.Invalid:
		code = codes.InvalidArgument
	case errs.NotFound:
		code = codes.NotFound
	case errs.Unauthenticated:
		code = codes.Unauthenticated
	case errs.Forbidden:
		code = codes.PermissionDenied
	case errs.Unavailable:
		code = codes.Unavailable
	case errs.TooManyRequests:
		code = codes.ResourceExhausted
	}
	return status.Error(code, errs.MessageOf(err))
}
