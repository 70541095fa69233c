package config

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/learn"
)

// Threshold is train.threshold: how the decision threshold is chosen on
// the validation split. In YAML it is one of
//
//	threshold: f1                  # maximise F1 (the default)
//	threshold: youden              # maximise TPR − FPR
//	threshold: 0.3                 # a fixed threshold
//	threshold: {top_fraction: 0.2} # call the top 20 % positive
//	threshold: {cost: {false_positive: 1, false_negative: 5}}
type Threshold struct {
	learn.ThresholdRule
}

// UnmarshalYAML reads the scalar or mapping forms above.
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case learn.ThresholdF1, learn.ThresholdYouden:
			t.Rule = n.Value
			return nil
		}
		v, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return fmt.Errorf("line %d: threshold %q: want f1, youden, a number, {top_fraction: F} or {cost: {false_positive: A, false_negative: B}}", n.Line, n.Value)
		}
		t.Rule, t.Value = learn.ThresholdFixed, v
		return nil
	case yaml.MappingNode:
		var m struct {
			TopFraction *float64 `yaml:"top_fraction"`
			Cost        *struct {
				FalsePositive float64 `yaml:"false_positive"`
				FalseNegative float64 `yaml:"false_negative"`
			} `yaml:"cost"`
		}
		for i := 0; i < len(n.Content); i += 2 {
			if k := n.Content[i].Value; k != "top_fraction" && k != "cost" {
				return fmt.Errorf("line %d: threshold: unknown key %q: want top_fraction or cost", n.Content[i].Line, k)
			}
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		switch {
		case m.TopFraction != nil && m.Cost == nil:
			t.Rule, t.TopFraction = learn.ThresholdTopFraction, *m.TopFraction
		case m.Cost != nil && m.TopFraction == nil:
			t.Rule, t.FalsePositive, t.FalseNegative = learn.ThresholdCost, m.Cost.FalsePositive, m.Cost.FalseNegative
		default:
			return fmt.Errorf("line %d: threshold: want exactly one of top_fraction or cost", n.Line)
		}
		return nil
	}
	return fmt.Errorf("line %d: threshold: want a word, a number or a mapping", n.Line)
}
