package techdocs

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBillPayDocsBuildStrict keeps BillPay's own documentation (techdocs/ at the repository root)
// free of broken links and anchors: it must build in strict mode with no warnings.
func TestBillPayDocsBuildStrict(t *testing.T) {
	site, err := Build(context.Background(), os.DirFS("../../techdocs"), Options{Strict: true, Etag: "test"})
	if err != nil {
		t.Fatal(err)
	}
	assert.Empty(t, site.Warnings)
	assert.Equal(t, "BillPay Platform", site.Metadata.SiteName)
	require.NotEmpty(t, site.Pages)
	for _, p := range site.Pages {
		html := string(p.HTML())
		assert.NotContains(t, html, "TODO", p.Src)
		assert.False(t, strings.Contains(html, `href="`+"javascript"), p.Src)
	}
}
