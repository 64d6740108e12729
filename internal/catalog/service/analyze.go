package service

import (
	"context"
	"net/url"
	"path"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// AnalyzeResult is Backstage's AnalyzeLocationResponse.
type AnalyzeResult struct {
	ExistingEntityFiles []ExistingEntityFile `json:"existingEntityFiles"`
	GenerateEntities    []GeneratedEntity    `json:"generateEntities"`
}

// ExistingEntityFile is an entity found in the repository's catalog file.
type ExistingEntityFile struct {
	Entity       catalog.Entity `json:"entity"`
	IsRegistered bool           `json:"isRegistered"`
	Location     LocationSpec   `json:"location"`
}

// LocationSpec is a {type, target} pair in API bodies.
type LocationSpec struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// GeneratedEntity is a suggested entity for a repository without a catalog file.
type GeneratedEntity struct {
	Entity catalog.Entity   `json:"entity"`
	Fields []AnalyzeFieldV1 `json:"fields"`
}

// AnalyzeFieldV1 says what the user still has to fill in.
type AnalyzeFieldV1 struct {
	Field       string  `json:"field"`
	State       string  `json:"state"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// AnalyzeLocation looks for a catalog file at target (a file URL, or a repository URL where
// catalogFilename is looked up on the default branch) and, when none exists, suggests a component.
func (s *Service) AnalyzeLocation(ctx context.Context, locType, target, catalogFilename string) (AnalyzeResult, error) {
	u, err := url.Parse(target)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return AnalyzeResult{}, errs.E(errs.Invalid, "The given location.target is not a URL")
	}
	if locType != "" && locType != "url" {
		return AnalyzeResult{}, errs.E(errs.Invalid, "Only url locations can be analyzed")
	}
	if catalogFilename == "" {
		catalogFilename = "catalog-info.yaml"
	}
	fileURL := target
	if !strings.HasSuffix(u.Path, ".yaml") && !strings.HasSuffix(u.Path, ".yml") {
		fileURL = repoFileURL(u, catalogFilename)
	}
	res := AnalyzeResult{ExistingEntityFiles: []ExistingEntityFile{}, GenerateEntities: []GeneratedEntity{}}
	data, err := s.processor.Reader.Read(ctx, "url", fileURL)
	switch {
	case err == nil:
		_, regErr := s.store.FindLocation(ctx, "url", fileURL)
		registered := regErr == nil
		for _, doc := range catalog.ParseDocuments(data) {
			if doc.Err != nil {
				return AnalyzeResult{}, errs.E(errs.Invalid, "%s: %s", fileURL, errs.MessageOf(doc.Err))
			}
			res.ExistingEntityFiles = append(res.ExistingEntityFiles, ExistingEntityFile{
				Entity: doc.Entity, IsRegistered: registered, Location: LocationSpec{Type: "url", Target: fileURL}})
		}
		return res, nil
	case errs.Is(err, errs.NotFound):
	default:
		return AnalyzeResult{}, err
	}
	name := strings.TrimSuffix(path.Base(strings.TrimSuffix(u.Path, "/")), ".git")
	entity := catalog.Entity{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Component",
		"metadata":   map[string]any{"name": name},
		"spec":       map[string]any{"type": "other", "lifecycle": "unknown"},
	}
	if slug := githubSlug(u); slug != "" {
		entity.SetAnnotation("github.com/project-slug", slug)
	}
	res.GenerateEntities = append(res.GenerateEntities, GeneratedEntity{Entity: entity, Fields: []AnalyzeFieldV1{{
		Field: "spec.owner", State: "needsUserInput", Value: nil,
		Description: "Entity owner is recommended to be a Group, as in group:default/my-team",
	}}})
	return res, nil
}

// repoFileURL points at a file on a repository's default branch. GitHub-style hosts take
// /blob/HEAD/<file>; others take the file under the URL.
func repoFileURL(repo *url.URL, file string) string {
	u := *repo
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	if parts := strings.Split(strings.Trim(p, "/"), "/"); len(parts) == 2 {
		u.Path = p + "/blob/HEAD/" + strings.TrimPrefix(file, "/")
	} else {
		u.Path = p + "/" + strings.TrimPrefix(file, "/")
	}
	return u.String()
}

func githubSlug(u *url.URL) string {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 || !strings.Contains(u.Host, "github") {
		return ""
	}
	return parts[0] + "/" + strings.TrimSuffix(parts[1], ".git")
}
