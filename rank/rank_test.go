package rank

import (
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name      string
		v         []float64
		asc, desc []int32
	}{
		{"empty", nil, []int32{}, []int32{}},
		{"distinct", []float64{0.3, 0.1, 0.2}, []int32{1, 2, 0}, []int32{0, 2, 1}},
		{"ties keep index order", []float64{0.5, 0.2, 0.5, 0.2}, []int32{1, 3, 0, 2}, []int32{0, 2, 1, 3}},
		{"negative and zero", []float64{0, -1, 2, -1}, []int32{1, 3, 0, 2}, []int32{2, 0, 1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Ascending(tc.v); !slices.Equal(got, tc.asc) {
				t.Errorf("Ascending(%v) = %v, want %v", tc.v, got, tc.asc)
			}
			if got := Descending(tc.v); !slices.Equal(got, tc.desc) {
				t.Errorf("Descending(%v) = %v, want %v", tc.v, got, tc.desc)
			}
		})
	}
}
