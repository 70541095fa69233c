package registry_test

import (
	"errors"
	"testing"

	"github.com/promoflow/promoflow/registry"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want registry.Ref
	}{
		{"churn", registry.Ref{Model: "churn"}},
		{"churn@production", registry.Ref{Model: "churn", Alias: "production"}},
		{"churn/7", registry.Ref{Model: "churn", Version: 7}},
		{"churn/v12", registry.Ref{Model: "churn", Version: 12}},
		{"uplift_v2-eu", registry.Ref{Model: "uplift_v2-eu"}},
	}
	for _, tt := range tests {
		got, err := registry.ParseRef(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if err == nil && got.String() != tt.in && tt.in != "churn/v12" {
			t.Errorf("ParseRef(%q).String() = %q", tt.in, got.String())
		}
	}
	for _, bad := range []string{"", "../x", "churn/0", "churn/-1", "churn/x", "churn@", "churn@Prod", "a/b/c", "Churn", "x;drop table runs", "churn@../x"} {
		var ve *registry.ValidationError
		if _, err := registry.ParseRef(bad); !errors.As(err, &ve) {
			t.Errorf("ParseRef(%q) error = %v, want *ValidationError", bad, err)
		}
	}
}
