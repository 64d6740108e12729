package s3publisher_test

import (
	"context"
	"net/http/httptest"
	"sort"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/aws/s3publisher"
	"github.com/billpay/portal/internal/techdocs/publishertest"
)

// newS3 starts gofakes3, an S3-compatible server, on loopback and returns the real aws-sdk-go-v2
// client pointed at it, so the publisher is tested through the SDK's own signing, serialization
// and error decoding rather than through a fake of the SDK.
func newS3(t *testing.T, bucket string) *s3.Client {
	t.Helper()
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}),
		// gofakes3 does not speak the SDK's default trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	_, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	return client
}

func keys(t *testing.T, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	out, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	require.NoError(t, err)
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	sort.Strings(ks)
	return ks
}

func TestPublisher(t *testing.T) {
	client := newS3(t, "techdocs")
	p, err := s3publisher.New(client, s3publisher.Config{Bucket: "techdocs", RootPath: "/portal/"})
	require.NoError(t, err)
	publishertest.Run(t, p)

	site := publishertest.MustBuild(t, map[string]string{"index.md": "# Home", "guide.md": "# Guide"})
	require.NoError(t, p.Publish(t.Context(), publishertest.Entity, site))
	var want []string
	for _, f := range site.Files() {
		want = append(want, "portal/default/component/payment-service/"+f)
	}
	sort.Strings(want)
	assert.Equal(t, want, keys(t, client, "techdocs", "portal/default/component/payment-service/"),
		"Backstage's layout under the root path, lowercased, with nothing stale left")

	head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("techdocs"),
		Key: aws.String("portal/default/component/payment-service/index.html")})
	require.NoError(t, err)
	assert.Equal(t, "text/plain; charset=utf-8", aws.ToString(head.ContentType), "HTML is stored as text so S3 never serves it as a page")
}

func TestManyFilesAndStaleDeletionInBatches(t *testing.T) {
	client := newS3(t, "docs")
	p, err := s3publisher.New(client, s3publisher.Config{Bucket: "docs"})
	require.NoError(t, err)
	pages := map[string]string{"index.md": "# Home"}
	for i := range 1100 {
		pages["p/"+string(rune('a'+i%26))+"/"+strconv.Itoa(i)+".md"] = "# P"
	}
	require.NoError(t, p.Publish(t.Context(), publishertest.Entity, publishertest.MustBuild(t, pages)))
	require.NoError(t, p.Publish(t.Context(), publishertest.Entity, publishertest.MustBuild(t, map[string]string{"index.md": "# Small"})))
	got := keys(t, client, "docs", "default/component/payment-service/")
	assert.Len(t, got, 4, "index.html, nav.json, the search index and the metadata, nothing left of the 1,100-page site: %v", got)
}

func TestNewNeedsABucket(t *testing.T) {
	_, err := s3publisher.New(nil, s3publisher.Config{})
	require.Error(t, err)
}
