// Package secrets is the Secrets Manager adapter of provisioning: a new service's secret, created with a random
// initial value that the service's owners replace. It implements deploy.Secrets.
package secrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// API is the part of the Secrets Manager client the adapter calls.
type API interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// Secrets creates secrets.
type Secrets struct {
	Client func(env deploy.Environment) API
	// KMSKeyID encrypts the secrets; empty uses the account's aws/secretsmanager key.
	KMSKeyID string
}

var _ deploy.Secrets = Secrets{}

// New returns Secrets whose clients come from cfg (a per-environment AWS configuration).
func New(cfg func(env deploy.Environment) aws.Config, optFns ...func(*secretsmanager.Options)) Secrets {
	return Secrets{Client: func(env deploy.Environment) API { return secretsmanager.NewFromConfig(cfg(env), optFns...) }}
}

// EnsureSecret creates the secret with a random placeholder value, or finds it; an existing secret's value is
// never touched.
func (s Secrets) EnsureSecret(ctx context.Context, env deploy.Environment, name, description string, tags map[string]string) (string, bool, error) {
	c := s.Client(env)
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	value, _ := json.Marshal(map[string]string{"placeholder": hex.EncodeToString(buf)})
	var tagList []types.Tag
	for k, v := range tags {
		tagList = append(tagList, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), Description: aws.String(description),
		SecretString: aws.String(string(value)), Tags: tagList}
	if s.KMSKeyID != "" {
		in.KmsKeyId = aws.String(s.KMSKeyID)
	}
	out, err := c.CreateSecret(ctx, in)
	var exists *types.ResourceExistsException
	switch {
	case err == nil:
		return aws.ToString(out.ARN), true, nil
	case errors.As(err, &exists):
		d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		if err != nil {
			return "", false, apiErr(err, "reading secret "+name)
		}
		return aws.ToString(d.ARN), false, nil
	}
	return "", false, apiErr(err, "creating secret "+name)
}

func apiErr(err error, doing string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			return errs.Wrap(errs.Forbidden, err, "%s: AWS refused the portal's credentials: %s", doing, api.ErrorMessage())
		case "ResourceNotFoundException":
			return errs.Wrap(errs.NotFound, err, "%s: %s", doing, api.ErrorMessage())
		case "InvalidParameterException", "InvalidRequestException":
			return errs.Wrap(errs.Invalid, err, "%s: %s", doing, api.ErrorMessage())
		}
		return errs.Wrap(errs.Unavailable, err, "%s: %s: %s", doing, api.ErrorCode(), api.ErrorMessage())
	}
	return errs.Wrap(errs.Unavailable, err, "%s: Secrets Manager unreachable: %v", doing, err)
}
