package fixed_test

import (
	"errors"
	"strings"
	"testing"
)

// checkResult compares one (value, error) result with its expectation: an
// error matching wantErr by errors.Is and containing msg, or no error and
// the wanted value. It is plain testing rather than testify so the package's
// tests need nothing beyond the standard library.
func checkResult(t *testing.T, desc string, got int64, err error, want int64, wantErr error, msg string) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Errorf("%s: got (%d, %v), want error %v", desc, got, err, wantErr)
			return
		}
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %q does not contain %q", desc, err, msg)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s: got (%d, %v), want %d", desc, got, err, want)
	}
}

func mustPanic(t *testing.T, desc string, wantValue any, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		if v == nil {
			t.Errorf("%s: did not panic", desc)
		} else if wantValue != nil && v != wantValue {
			t.Errorf("%s: panicked with %v, want %v", desc, v, wantValue)
		}
	}()
	f()
}

func equalString(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
