package memstore_test

import (
	"testing"
	"time"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/memstore"
	"github.com/billpay/portal/internal/scaffolder/taskstoretest"
)

func TestContract(t *testing.T) {
	taskstoretest.Run(t, func(t *testing.T, now func() time.Time) scaffolder.TaskStore {
		s := memstore.New()
		s.Now = now
		return s
	})
}
