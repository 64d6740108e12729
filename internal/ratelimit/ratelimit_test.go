package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeyed(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	k := New(1, 2, func() time.Time { return now })
	for range 2 {
		ok, _ := k.Allow("a")
		require.True(t, ok)
	}
	ok, wait := k.Allow("a")
	require.False(t, ok, "the burst is spent")
	require.Equal(t, time.Second, wait)
	blocked, _ := k.Exhausted("a")
	require.True(t, blocked)
	ok, _ = k.Allow("b")
	require.True(t, ok, "buckets are per key")
	now = now.Add(time.Second)
	ok, _ = k.Allow("a")
	require.True(t, ok, "a token came back")

	now = now.Add(time.Hour)
	k.Allow("c")
	require.Len(t, k.buckets, 1, "full buckets are swept")

	off := New(0, 0, nil)
	for range 100 {
		ok, _ := off.Allow("x")
		require.True(t, ok)
	}
}
