package schema

import "testing"

func TestTrueUpliftColumn(t *testing.T) {
	tests := []struct{ arm, want string }{
		{"Mens E-Mail", "true_uplift_mens_e_mail"},
		{"Womens E-Mail", "true_uplift_womens_e_mail"},
		{"A", "true_uplift_a"},
		{"arm 2", "true_uplift_arm_2"},
		{"Café", "true_uplift_caf_"},
	}
	for _, tc := range tests {
		if got := TrueUpliftColumn(tc.arm); got != tc.want {
			t.Errorf("TrueUpliftColumn(%q) = %q, want %q", tc.arm, got, tc.want)
		}
	}
}
