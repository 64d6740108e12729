package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/store"
)

var flagEnvs = []flagservice.Environment{{Name: "dev"}, {Name: "staging"}, {Name: "production", Protected: true}}

// startFlags runs a flag service on st until the test ends; poll is how fast it notices other writers.
func startFlags(t *testing.T, st *store.Store, poll time.Duration) *flagservice.Service {
	t.Helper()
	svc, err := flagservice.New(st, flagservice.Config{Environments: flagEnvs, PollInterval: poll,
		GuestEnvironment: "dev", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, svc.Start(ctx))
	return svc
}

// admin is an operator principal, for tests about storage rather than permissions.
func admin(name string) auth.Principal {
	return auth.Principal{Subject: name, Kind: auth.KindService, Admin: true}
}

const boolFlag = `{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}`

func seedDocument(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "flags", "production.flagd.json"))
	require.NoError(t, err)
	return data
}

func TestFlagStorage(t *testing.T) {
	ctx := context.Background()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("creates, replaces under If-Match, and refuses stale writes", func(t *testing.T) {
				svc := startFlags(t, open(t), time.Hour)
				f, created, err := svc.Put(ctx, admin("alice"), "dev", "beta", json.RawMessage(boolFlag), flagservice.Precondition{IfNoneMatch: "*"})
				require.NoError(t, err)
				require.True(t, created)
				require.Equal(t, `"1"`, f.ETag)
				require.Equal(t, "alice", f.UpdatedBy)

				_, _, err = svc.Put(ctx, admin("bob"), "dev", "beta", json.RawMessage(boolFlag), flagservice.Precondition{IfNoneMatch: "*"})
				require.True(t, errs.Is(err, errs.PreconditionFailed), "create-only on an existing flag: %v", err)

				enabled := `{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}`
				f2, created, err := svc.Put(ctx, admin("bob"), "dev", "beta", json.RawMessage(enabled), flagservice.Precondition{IfMatch: f.ETag})
				require.NoError(t, err)
				require.False(t, created)
				require.Equal(t, `"2"`, f2.ETag)

				_, _, err = svc.Put(ctx, admin("carol"), "dev", "beta", json.RawMessage(boolFlag), flagservice.Precondition{IfMatch: f.ETag})
				require.True(t, errs.Is(err, errs.PreconditionFailed), "a write based on an old read loses: %v", err)
				got, err := svc.Get("dev", "beta")
				require.NoError(t, err)
				require.JSONEq(t, enabled, string(got.Definition), "the refused write changed nothing")

				res := snapshotEval(t, svc, "dev", "beta", nil)
				require.Equal(t, true, res.Value)
				require.Equal(t, flags.ReasonStatic, res.Reason)
			})

			t.Run("refuses invalid flags with the field named and stores nothing", func(t *testing.T) {
				svc := startFlags(t, open(t), time.Hour)
				cases := map[string]string{
					`{"state":"ENABLED","variants":{"a":1},"defaultVariant":"b"}`:                         `defaultVariant "b" is not one of its variants`,
					`{"state":"ON","variants":{"a":1}}`:                                                   `state "ON" must be ENABLED or DISABLED`,
					`{"state":"ENABLED","variants":{"a":1,"b":"two"}}`:                                    `all variants must have one type`,
					`{"state":"ENABLED","variants":{"a":true},"targeting":{"$ref":"nope"}}`:               `evaluator "nope"`,
					`{"state":"ENABLED","variants":{"a":true},"metadata":{"owner":"user:default/alice"}}`: `must name a Group or a Component`,
					`{"state":"ENABLED","variants":{"a":true}} trailing`:                                  `trailing`,
				}
				for def, want := range cases {
					_, _, err := svc.Put(ctx, admin("alice"), "dev", "bad", json.RawMessage(def), flagservice.Precondition{})
					require.True(t, errs.Is(err, errs.Invalid), "%s: %v", def, err)
					require.Contains(t, err.Error(), want, def)
				}
				_, _, err := svc.Put(ctx, admin("alice"), "dev", "bad/key", json.RawMessage(boolFlag), flagservice.Precondition{})
				require.True(t, errs.Is(err, errs.Invalid))
				list, err := svc.List("dev", "")
				require.NoError(t, err)
				require.Empty(t, list)
				entries, err := svc.Audit(ctx, flags.AuditQuery{Environment: "dev"})
				require.NoError(t, err)
				require.Empty(t, entries, "refused writes leave no audit entries")
			})

			t.Run("imports, exports and audits a whole environment atomically", func(t *testing.T) {
				svc := startFlags(t, open(t), time.Hour)
				doc := seedDocument(t)
				res, err := svc.Import(ctx, admin("ci"), "production", doc, flagservice.ImportReplace)
				require.NoError(t, err)
				require.Len(t, res.Created, 8)
				require.EqualValues(t, 1, res.Version)

				exported, err := svc.Export("production")
				require.NoError(t, err)
				var in, out map[string]any
				require.NoError(t, json.Unmarshal(doc, &in))
				require.NoError(t, json.Unmarshal(exported, &out))
				require.Equal(t, in, out, "export gives back what was imported, $ref unexpanded")

				again, err := svc.Import(ctx, admin("ci"), "production", doc, flagservice.ImportReplace)
				require.NoError(t, err)
				require.Equal(t, 8, again.Unchanged)
				require.EqualValues(t, 1, again.Version, "an import that changes nothing is not a change")

				// One broken flag among good ones: nothing of the document is stored.
				var broken map[string]any
				require.NoError(t, json.Unmarshal(doc, &broken))
				fl := broken["flags"].(map[string]any)
				fl["zzz-broken"] = map[string]any{"state": "ENABLED", "variants": map[string]any{"a": 1}, "defaultVariant": "missing"}
				delete(fl, "refunds-enabled")
				data, _ := json.Marshal(broken)
				_, err = svc.Import(ctx, admin("ci"), "production", data, flagservice.ImportReplace)
				require.True(t, errs.Is(err, errs.Invalid))
				require.Contains(t, err.Error(), `flag "zzz-broken": defaultVariant "missing"`)
				_, err = svc.Get("production", "refunds-enabled")
				require.NoError(t, err, "the refused import deleted nothing")

				// Replace deletes what the document lacks; merge keeps it.
				small := []byte(`{"flags":{"only":` + boolFlag + `}}`)
				merged, err := svc.Import(ctx, admin("ci"), "staging", small, flagservice.ImportMerge)
				require.NoError(t, err)
				require.Equal(t, []string{"only"}, merged.Created)
				_, err = svc.Import(ctx, admin("ci"), "staging", doc, flagservice.ImportMerge)
				require.NoError(t, err)
				list, _ := svc.List("staging", "")
				require.Len(t, list, 9)
				replaced, err := svc.Import(ctx, admin("ci"), "staging", small, flagservice.ImportReplace)
				require.NoError(t, err)
				require.Len(t, replaced.Deleted, 8)
				list, _ = svc.List("staging", "")
				require.Len(t, list, 1)

				owned, err := svc.List("production", "group:default/payments-team")
				require.NoError(t, err)
				require.Len(t, owned, 2, "metadata.owner is queryable")

				audit, err := svc.Audit(ctx, flags.AuditQuery{Environment: "staging", FlagKey: "new-checkout-flow"})
				require.NoError(t, err)
				require.Len(t, audit, 2, "created by the merge, deleted by the replace")
				require.Equal(t, flags.ActionImport, audit[0].Action)
				require.Nil(t, audit[0].After, "deletion has no after")
				require.NotNil(t, audit[0].Before)
				require.Nil(t, audit[1].Before, "creation has no before")
			})

			t.Run("enables, disables, copies between environments and deletes", func(t *testing.T) {
				svc := startFlags(t, open(t), time.Hour)
				_, err := svc.Import(ctx, admin("ci"), "dev", seedDocument(t), flagservice.ImportReplace)
				require.NoError(t, err)
				f, err := svc.SetState(ctx, admin("ops"), "dev", "refunds-enabled", false, flagservice.Precondition{})
				require.NoError(t, err)
				require.Equal(t, flags.ReasonDisabled, snapshotEval(t, svc, "dev", "refunds-enabled", nil).Reason)
				again, err := svc.SetState(ctx, admin("ops"), "dev", "refunds-enabled", false, flagservice.Precondition{IfMatch: f.ETag})
				require.NoError(t, err)
				require.Equal(t, f.ETag, again.ETag, "disabling a disabled flag changes nothing")

				_, _, err = svc.Copy(ctx, admin("ops"), "dev", "staging", "new-checkout-flow", flagservice.Precondition{})
				require.True(t, errs.Is(err, errs.Invalid), "staging lacks the billpay-staff evaluator: %v", err)
				require.Contains(t, err.Error(), "billpay-staff")
				copied, created, err := svc.Copy(ctx, admin("ops"), "dev", "staging", "refunds-enabled", flagservice.Precondition{})
				require.NoError(t, err)
				require.True(t, created)
				require.Equal(t, "group:default/admin-team", copied.Owner)
				require.Equal(t, flags.ReasonDisabled, snapshotEval(t, svc, "staging", "refunds-enabled", nil).Reason)

				require.NoError(t, svc.Delete(ctx, admin("ops"), "staging", "refunds-enabled", flagservice.Precondition{IfMatch: copied.ETag}))
				require.True(t, errs.Is(svc.Delete(ctx, admin("ops"), "staging", "refunds-enabled", flagservice.Precondition{}), errs.NotFound))
				require.Equal(t, flags.ErrFlagNotFound, snapshotEval(t, svc, "staging", "refunds-enabled", nil).ErrorCode)

				actions := []flags.Action{}
				entries, err := svc.Audit(ctx, flags.AuditQuery{FlagKey: "refunds-enabled"})
				require.NoError(t, err)
				for _, e := range entries {
					actions = append(actions, e.Action)
				}
				require.Equal(t, []flags.Action{flags.ActionDelete, flags.ActionCopy, flags.ActionDisable, flags.ActionImport}, actions)
			})

			t.Run("seeds only environments never written", func(t *testing.T) {
				st := open(t)
				svc := startFlags(t, st, time.Hour)
				_, imported, err := svc.Seed(ctx, admin("portal:seed"), "production", seedDocument(t))
				require.NoError(t, err)
				require.True(t, imported)
				require.NoError(t, svc.Delete(ctx, admin("ops"), "production", "refunds-enabled", flagservice.Precondition{}))
				_, imported, err = svc.Seed(ctx, admin("portal:seed"), "production", seedDocument(t))
				require.NoError(t, err)
				require.False(t, imported, "a restart does not undo later edits")
				_, err = svc.Get("production", "refunds-enabled")
				require.True(t, errs.Is(err, errs.NotFound))
			})

			t.Run("concurrent writers to one environment each get a version of their own", func(t *testing.T) {
				svc := startFlags(t, open(t), time.Hour)
				var wg sync.WaitGroup
				errc := make(chan error, 20)
				for i := range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, _, err := svc.Put(ctx, admin("w"), "dev", fmt.Sprintf("flag-%02d", i), json.RawMessage(boolFlag), flagservice.Precondition{})
						errc <- err
					}()
				}
				wg.Wait()
				close(errc)
				for err := range errc {
					require.NoError(t, err)
				}
				snap, err := svc.Snapshot("dev")
				require.NoError(t, err)
				require.EqualValues(t, 20, snap.Version)
				require.Len(t, snap.Stored.Flags, 20)
				seen := map[int64]bool{}
				for _, f := range snap.Stored.Flags {
					require.False(t, seen[f.Revision], "revision %d given twice", f.Revision)
					seen[f.Revision] = true
				}
			})

			t.Run("a second replica sees changes and announces them with their audit entries", func(t *testing.T) {
				st := open(t)
				writer := startFlags(t, st, time.Hour)
				reader := startFlags(t, st, 20*time.Millisecond)
				events, cancel := reader.Subscribe("dev")
				defer cancel()
				_, _, err := writer.Put(ctx, admin("alice"), "dev", "beta", json.RawMessage(boolFlag), flagservice.Precondition{})
				require.NoError(t, err)
				select {
				case ev := <-events:
					require.Equal(t, "dev", ev.Environment)
					require.EqualValues(t, 1, ev.Version)
					require.Len(t, ev.Entries, 1)
					require.Equal(t, "beta", ev.Entries[0].FlagKey)
					require.Equal(t, "alice", ev.Entries[0].Actor)
				case <-time.After(10 * time.Second):
					t.Fatal("the reader replica never saw the change")
				}
				require.Equal(t, false, snapshotEval(t, reader, "dev", "beta", nil).Value)
				other, cancelOther := reader.Subscribe("staging")
				defer cancelOther()
				select {
				case ev := <-other:
					t.Fatalf("a staging subscriber got a dev event: %+v", ev)
				default:
				}
			})
		})
	}
}

func snapshotEval(t *testing.T, svc *flagservice.Service, env, key string, ctx map[string]any) flags.Result {
	t.Helper()
	snap, err := svc.Snapshot(env)
	require.NoError(t, err)
	return snap.Set.Evaluate(key, ctx)
}
