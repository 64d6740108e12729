package httpapi

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

// Backstage's search client encodes queries with qs; these are the shapes it sends.
func TestParseSearchQuery(t *testing.T) {
	parse := func(raw string) (url.Values, error) { return url.ParseQuery(raw) }

	v, err := parse("term=paymnt&types[0]=software-catalog&types[1]=techdocs&filters[kind]=Component" +
		"&filters[lifecycle][0]=production&filters[lifecycle][1]=experimental&pageCursor=MQ%3D%3D&pageLimit=10")
	require.NoError(t, err)
	q, err := parseSearchQuery(v)
	require.NoError(t, err)
	require.Equal(t, "paymnt", q.Term)
	require.Equal(t, []string{"software-catalog", "techdocs"}, q.Types)
	require.Equal(t, map[string][]string{"kind": {"Component"}, "lifecycle": {"production", "experimental"}}, q.Filters)
	require.Equal(t, "MQ==", q.PageCursor)
	require.Equal(t, 10, q.PageLimit)

	t.Run("orders indexed lists by index", func(t *testing.T) {
		v, _ := parse("types[10]=k&types[2]=c&types[0]=a&types[1]=b")
		q, err := parseSearchQuery(v)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b", "c", "k"}, q.Types)
	})

	t.Run("takes plain repeated and comma-separated types", func(t *testing.T) {
		v, _ := parse("types=techdocs&types=software-catalog")
		q, _ := parseSearchQuery(v)
		require.Equal(t, []string{"techdocs", "software-catalog"}, q.Types)
		v, _ = parse("types[]=techdocs,software-catalog")
		q, _ = parseSearchQuery(v)
		require.Equal(t, []string{"techdocs", "software-catalog"}, q.Types)
	})

	t.Run("refuses what it cannot read", func(t *testing.T) {
		for _, raw := range []string{"pageLimit=ten", "pageLimit=0", "filters[kind=x", "filters[]=x", "filters[kind]x=y"} {
			v, _ := parse(raw)
			_, err := parseSearchQuery(v)
			require.True(t, errs.Is(err, errs.Invalid), raw)
		}
	})
}
