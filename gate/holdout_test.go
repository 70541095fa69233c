package gate

import (
	"reflect"
	"testing"
)

func TestPair(t *testing.T) {
	y := []float64{1, 0, 1, 0}
	ch, prod := []float64{.9, .2, .7, .4}, []float64{.8, .3, .6, .5}
	treatment := []string{"Womens", "No E-Mail", "Mens", ""}
	up := func(w, m float64) map[string]float64 { return map[string]float64{"Womens": w, "Mens": m} }
	chUp := []map[string]float64{up(.1, .2), up(.3, .4), up(.5, .6), up(.7, .8)}
	womensOnly := []map[string]float64{{"Womens": .01}, {"Womens": .02}, {"Womens": .03}, {"Womens": .04}}
	tests := []struct {
		name    string
		in      Holdout
		want    *Paired
		wantErr bool
	}{
		{
			name: "propensity model",
			in:   Holdout{Y: y, Challenger: ch, Production: prod},
			want: &Paired{Y: y, Challenger: ch, Production: prod},
		},
		{
			name: "every arm in name order; production lacks Mens",
			in: Holdout{Y: y, Challenger: ch, Production: prod, Treatment: treatment, Control: "No E-Mail",
				Arms: []string{"Womens", "Mens"}, ChallengerUplift: chUp, ProductionUplift: womensOnly},
			want: &Paired{Y: y, Challenger: ch, Production: prod, Arms: []PairedArm{
				{Arm: "Mens", Treated: []int8{-1, 0, 1, -1}, ChallengerUplift: []float64{.2, .4, .6, .8}},
				{Arm: "Womens", Treated: []int8{1, 0, -1, -1}, ChallengerUplift: []float64{.1, .3, .5, .7}, ProductionUplift: []float64{.01, .02, .03, .04}},
			}},
		},
		{
			name: "production without uplift",
			in: Holdout{Y: y, Challenger: ch, Treatment: treatment, Control: "No E-Mail",
				Arms: []string{"Womens"}, ChallengerUplift: chUp},
			want: &Paired{Y: y, Challenger: ch, Arms: []PairedArm{
				{Arm: "Womens", Treated: []int8{1, 0, -1, -1}, ChallengerUplift: []float64{.1, .3, .5, .7}},
			}},
		},
		{name: "lengths differ", in: Holdout{Y: y, Challenger: ch[:3]}, wantErr: true},
		{
			name: "challenger lacks an arm's uplift",
			in: Holdout{Y: y, Challenger: ch, Treatment: treatment, Control: "No E-Mail",
				Arms: []string{"Womens"}, ChallengerUplift: []map[string]float64{{}, {}, {}, {}}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Pair(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Pair error = %v, want error %t", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Pair = %+v, want %+v", got, tt.want)
			}
		})
	}
}
