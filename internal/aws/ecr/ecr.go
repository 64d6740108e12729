// Package ecr is the ECR adapter of deploys: it resolves image tags to digests (deploy.Registry) and creates a new
// service's repository (deploy.Repositories) through aws-sdk-go-v2.
package ecr

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// API is the part of the ECR client the adapter calls.
type API interface {
	BatchGetImage(ctx context.Context, in *ecr.BatchGetImageInput, optFns ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
}

// Registry talks to each environment's ECR registry.
type Registry struct {
	// Client returns the ECR client for an environment (its region and credentials).
	Client func(env deploy.Environment) API
}

var (
	_ deploy.Registry     = Registry{}
	_ deploy.Repositories = Registry{}
)

// New returns a Registry whose clients come from cfg (a per-environment AWS configuration).
func New(cfg func(env deploy.Environment) aws.Config, optFns ...func(*ecr.Options)) Registry {
	return Registry{Client: func(env deploy.Environment) API { return ecr.NewFromConfig(cfg(env), optFns...) }}
}

func registryHost(env deploy.Environment) string {
	if env.Registry != "" {
		return env.Registry
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", env.Account, env.Region)
}

// ResolveImage finds repository:tag's digest with BatchGetImage (the call image pulls make, so the portal needs
// no more than pull rights).
func (r Registry) ResolveImage(ctx context.Context, env deploy.Environment, repository, tag string) (deploy.Image, error) {
	in := &ecr.BatchGetImageInput{RepositoryName: aws.String(repository), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String(tag)}},
		AcceptedMediaTypes: []string{"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
			"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json"}}
	if env.Account != "" {
		in.RegistryId = aws.String(env.Account)
	}
	out, err := r.Client(env).BatchGetImage(ctx, in)
	if err != nil {
		return deploy.Image{}, apiErr(err, fmt.Sprintf("resolving %s:%s in ECR (%s)", repository, tag, env.Name), repository, env)
	}
	for _, img := range out.Images {
		if img.ImageId != nil && img.ImageId.ImageDigest != nil {
			return deploy.Image{Repository: registryHost(env) + "/" + repository, Tag: tag, Digest: *img.ImageId.ImageDigest}, nil
		}
	}
	reason := "no such tag"
	for _, f := range out.Failures {
		if f.FailureReason != nil {
			reason = *f.FailureReason
		}
	}
	return deploy.Image{}, errs.E(errs.NotFound, "image %s:%s not found in ECR repository %s of %s (%s): %s",
		repository, tag, repository, registryHost(env), env.Name, reason)
}

// EnsureRepository creates a private repository with immutable tags, scanning on push and encryption, or finds the
// one that exists.
func (r Registry) EnsureRepository(ctx context.Context, env deploy.Environment, name string, tags map[string]string) (string, bool, error) {
	c := r.Client(env)
	var tagList []types.Tag
	for k, v := range tags {
		tagList = append(tagList, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(name),
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms},
		Tags:                       tagList,
	})
	if err == nil {
		return aws.ToString(out.Repository.RepositoryUri), true, nil
	}
	var exists *types.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) {
		return "", false, apiErr(err, "creating ECR repository "+name+" in "+env.Name, name, env)
	}
	desc, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil || len(desc.Repositories) == 0 {
		return "", false, apiErr(err, "reading ECR repository "+name+" in "+env.Name, name, env)
	}
	return aws.ToString(desc.Repositories[0].RepositoryUri), false, nil
}

func apiErr(err error, doing, repository string, env deploy.Environment) error {
	if err == nil {
		return errs.E(errs.Unavailable, "%s: no answer", doing)
	}
	var notFound *types.RepositoryNotFoundException
	var imgNotFound *types.ImageNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &notFound):
		return errs.Wrap(errs.NotFound, err, "%s: ECR repository %s does not exist in %s", doing, repository, registryHost(env))
	case errors.As(err, &imgNotFound):
		return errs.Wrap(errs.NotFound, err, "%s: image not found", doing)
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			return errs.Wrap(errs.Forbidden, err, "%s: AWS refused the portal's credentials: %s", doing, api.ErrorMessage())
		}
		return errs.Wrap(errs.Unavailable, err, "%s: %s: %s", doing, api.ErrorCode(), api.ErrorMessage())
	}
	return errs.Wrap(errs.Unavailable, err, "%s: ECR unreachable: %v", doing, err)
}
