package ecr_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/aws/ecr"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// TestRegistry resolves tags through the real ECR client against kumo.
func TestRegistry(t *testing.T) {
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg := func(deploy.Environment) aws.Config {
		return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIATEST", "secret", "")}
	}
	opts := func(o *awsecr.Options) { o.BaseEndpoint = aws.String(srv.URL) }
	reg := ecr.New(cfg, opts)
	env := deploy.Environment{Name: "dev", Region: "us-east-1", Account: "000000000000"}
	ctx := t.Context()

	t.Run("ErrNoRepository", func(t *testing.T) {
		_, err := reg.ResolveImage(ctx, env, "user-service", "1.0.0")
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "ECR repository user-service does not exist in 000000000000.dkr.ecr.us-east-1.amazonaws.com")
	})

	uri, created, err := reg.EnsureRepository(ctx, env, "user-service", map[string]string{"team": "identity"})
	require.NoError(t, err)
	require.True(t, created)
	require.Contains(t, uri, "/user-service")
	again, created, err := reg.EnsureRepository(ctx, env, "user-service", nil)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, uri, again)

	put, err := awsecr.NewFromConfig(cfg(env), opts).PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("user-service"),
		ImageTag: aws.String("2.1.0"), ImageManifest: aws.String(`{"schemaVersion":2,"config":{},"layers":[]}`)})
	require.NoError(t, err)

	t.Run("OK", func(t *testing.T) {
		img, err := reg.ResolveImage(ctx, env, "user-service", "2.1.0")
		require.NoError(t, err)
		require.Equal(t, aws.ToString(put.Image.ImageId.ImageDigest), img.Digest)
		require.Equal(t, "000000000000.dkr.ecr.us-east-1.amazonaws.com/user-service@"+img.Digest, img.Ref())
	})
	t.Run("ErrNoSuchTag", func(t *testing.T) {
		_, err := reg.ResolveImage(ctx, env, "user-service", "9.9.9")
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "image user-service:9.9.9 not found in ECR repository user-service")
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		bad := ecr.New(cfg, func(o *awsecr.Options) { o.BaseEndpoint = aws.String("http://127.0.0.1:1"); o.RetryMaxAttempts = 1 })
		_, err := bad.ResolveImage(ctx, env, "user-service", "2.1.0")
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
		require.Contains(t, errs.MessageOf(err), "ECR unreachable")
	})
}
