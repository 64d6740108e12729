package search

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWords(t *testing.T) {
	require.Equal(t, []string{"payment", "service", "v2", "café"}, Words("Payment-Service (v2) Café!"))
	require.Equal(t, []string{"payment", "service"}, queryWords("the payment of the service"))
	require.Empty(t, queryWords("the of and"))
}

func TestVocabulary(t *testing.T) {
	d := Document{Title: "Payment Service", Names: "payment-service go 2024", Headings: "Rolling back\nOn call", Text: "prose is not vocabulary"}
	require.Equal(t, []string{"payment", "service", "rolling", "back", "call"}, Vocabulary(d))
}

func TestTrigramsAsPgTrgm(t *testing.T) {
	require.Equal(t, []string{"  c", " ca", "cat", "at "}, Trigrams("cat"))
	require.InDelta(t, 0.5, similarity("paymnt", "payment"), 0.01)
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"paymnt", "payment", 1}, {"servcie", "service", 1}, {"usr", "user", 1},
		{"payment", "payment", 0}, {"", "abc", 3}, {"kitten", "sitting", 3},
	} {
		require.Equal(t, c.want, editDistance(c.a, c.b), "%s/%s", c.a, c.b)
	}
}

func TestPageCursor(t *testing.T) {
	require.Equal(t, "MQ==", EncodePageCursor(1), "Backstage's encoding: base64 of the page number")
	n, err := DecodePageCursor("MQ==")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = DecodePageCursor("bm90LWEtcGFnZQ==")
	require.Error(t, err)
}
