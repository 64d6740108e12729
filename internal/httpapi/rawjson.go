package httpapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/catalog"
)

// rawOutput is a response whose body is already JSON. Stored entities are written as they are:
// encoding/json would re-scan and compact every json.RawMessage, which cost four times more than
// the rest of a by-query request. Lists are streamed through a pooled buffer rather than
// assembled, so a 100-entity page allocates nothing proportional to its size.
type rawOutput struct {
	ContentType string `header:"Content-Type"`
	Link        string `header:"Link"`
	Body        func(huma.Context)
}

const jsonContentType = "application/json; charset=utf-8"

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// streamJSON answers 200 with what write produces.
func streamJSON(write func(w *bufio.Writer)) *rawOutput {
	return &rawOutput{ContentType: jsonContentType, Body: func(ctx huma.Context) {
		ctx.SetStatus(http.StatusOK)
		w := writers.Get().(*bufio.Writer)
		w.Reset(ctx.BodyWriter())
		write(w)
		_ = w.Flush()
		w.Reset(nil)
		writers.Put(w)
	}}
}

func rawJSON(b []byte) *rawOutput {
	return &rawOutput{ContentType: jsonContentType, Body: func(ctx huma.Context) {
		ctx.SetStatus(http.StatusOK)
		_, _ = ctx.BodyWriter().Write(b)
	}}
}

func writeArray(w *bufio.Writer, items []json.RawMessage) {
	_ = w.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		_, _ = w.Write(it)
	}
	_ = w.WriteByte(']')
}

// itemBuffers hold one decompressed entity at a time while a page is written.
var itemBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writePage writes a page of entities as a JSON array, decompressing each into one reused buffer.
func writePage(w *bufio.Writer, page catalog.Page) {
	buf := itemBuffers.Get().(*[]byte)
	_ = w.WriteByte('[')
	for i := range page.Len() {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		_, _ = w.Write(page.Item(i, buf))
	}
	_ = w.WriteByte(']')
	if cap(*buf) > maxPooledItem {
		*buf = nil
	}
	itemBuffers.Put(buf)
}

// maxPooledItem keeps an unusually large entity's buffer from staying in the pool.
const maxPooledItem = 64 << 10

func pageStream(page catalog.Page) *rawOutput {
	return streamJSON(func(w *bufio.Writer) { writePage(w, page) })
}

func queryStream(res catalog.QueryResponse) *rawOutput {
	return streamJSON(func(w *bufio.Writer) {
		_, _ = w.WriteString(`{"items":`)
		writePage(w, res.Page)
		var tail []byte
		tail = append(tail, `,"totalItems":`...)
		tail = strconv.AppendInt(tail, int64(res.TotalItems), 10)
		tail = append(tail, `,"pageInfo":{`...)
		if res.NextCursor != "" {
			tail = append(tail, `"nextCursor":`...)
			tail = strconv.AppendQuote(tail, res.NextCursor)
		}
		if res.PrevCursor != "" {
			if res.NextCursor != "" {
				tail = append(tail, ',')
			}
			tail = append(tail, `"prevCursor":`...)
			tail = strconv.AppendQuote(tail, res.PrevCursor)
		}
		_, _ = w.Write(append(tail, "}}"...))
	})
}

// entityDoc documents an entity in the OpenAPI description; values are served from storage as-is.
type entityDoc struct {
	APIVersion string         `json:"apiVersion" example:"backstage.io/v1alpha1"`
	Kind       string         `json:"kind" example:"Component"`
	Metadata   map[string]any `json:"metadata" doc:"name, namespace, uid, etag, title, description, labels, annotations, tags, links"`
	Spec       map[string]any `json:"spec,omitempty"`
	Relations  []relationDoc  `json:"relations,omitempty"`
	Status     map[string]any `json:"status,omitempty" doc:"items: processing errors"`
}

type relationDoc struct {
	Type      string `json:"type" example:"ownedBy"`
	TargetRef string `json:"targetRef" example:"group:default/payments-team"`
}

type queryDoc struct {
	Items      []entityDoc `json:"items"`
	TotalItems int         `json:"totalItems"`
	PageInfo   pageInfo    `json:"pageInfo"`
}

type byRefsDoc struct {
	Items []*entityDoc `json:"items" doc:"In request order; null for refs that do not exist"`
}

// documentJSON describes a raw JSON response in the OpenAPI document with the schema of doc.
func documentJSON(api huma.API, op *huma.Operation, doc any, description string) {
	status := op.DefaultStatus
	if status == 0 {
		status = http.StatusOK
	}
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	schema := huma.SchemaFromType(api.OpenAPI().Components.Schemas, reflect.TypeOf(doc))
	op.Responses[strconv.Itoa(status)] = &huma.Response{
		Description: description,
		Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
	}
}
