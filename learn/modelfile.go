package learn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/promoflow/promoflow/schema"
)

// FormatName and FormatVersion identify the model file format. Load
// accepts only this version; a change that old readers cannot take bumps it.
const (
	FormatName    = "promoflow-model"
	FormatVersion = 1
)

// modelFile is the JSON form of a Model: the model plus the format name.
type modelFile struct {
	Format string `json:"format"`
	*modelAlias
}

// modelAlias has Model's fields without its methods, so encoding it does
// not recurse into MarshalJSON.
type modelAlias Model

// MarshalJSON writes the model in the versioned model file format.
func (m *Model) MarshalJSON() ([]byte, error) {
	a := modelAlias(*m)
	a.FormatVersion = FormatVersion
	b, err := json.Marshal(modelFile{Format: FormatName, modelAlias: &a})
	if err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	return b, nil
}

// Load reads a model file. It rejects unknown fields, another format or
// version, and any shape that does not fit the schema and pipeline, with an
// error naming the field.
func Load(data []byte) (*Model, error) {
	var f modelFile
	f.modelAlias = new(modelAlias)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if dec.More() {
		return nil, errors.New("load model: trailing data after the model object")
	}
	if f.Format != FormatName {
		return nil, fmt.Errorf("load model: field format is %q, want %q", f.Format, FormatName)
	}
	m := (*Model)(f.modelAlias)
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("load model: field format_version is %d, this build reads %d", m.FormatVersion, FormatVersion)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return m, nil
}

// check verifies that the parts of a model fit together.
func (m *Model) check() error {
	if err := m.Schema.Validate(); err != nil {
		return fmt.Errorf("field schema: %w", err)
	}
	pl := m.Pipeline
	if pl == nil {
		return errors.New("field pipeline is missing")
	}
	if err := checkPipeline(pl, m.Schema); err != nil {
		return err
	}
	if err := checkDropped(m.Dropped, pl); err != nil {
		return err
	}
	if err := checkLogReg(m.Propensity, "propensity", pl); err != nil {
		return err
	}
	treat := m.Schema.OfKind(schema.Treatment)
	switch {
	case len(treat) == 0 && m.Uplift != nil:
		return errors.New("field uplift is set but the schema has no treatment column")
	case len(treat) == 1 && m.Uplift == nil:
		return fmt.Errorf("field uplift is missing for treatment column %q", treat[0].Name)
	case m.Uplift != nil:
		return checkUplift(m.Uplift, treat[0], pl)
	}
	return nil
}

// checkPipeline checks that the pipeline transforms the schema's feature
// columns, in order, into the features it lists.
func checkPipeline(pl *Pipeline, sch schema.Schema) error {
	if pl.Impute != ImputeMedian && pl.Impute != ImputeMean {
		return fmt.Errorf("field pipeline.impute is %q, want %q or %q", pl.Impute, ImputeMedian, ImputeMean)
	}
	var feats []schema.Column
	for _, c := range sch.Columns {
		if c.Kind.IsFeature() {
			feats = append(feats, c)
		}
	}
	if len(pl.Columns) != len(feats) {
		return fmt.Errorf("field pipeline.columns has %d columns, schema has %d feature columns", len(pl.Columns), len(feats))
	}
	for i, c := range pl.Columns {
		if err := checkColumn(c, feats[i], fmt.Sprintf("pipeline.columns[%d]", i)); err != nil {
			return err
		}
	}
	names := pl.featureNames()
	if len(pl.Features) != len(names) {
		return fmt.Errorf("field pipeline.features has %d features, the columns make %d", len(pl.Features), len(names))
	}
	for j, f := range pl.Features {
		if f.Name != names[j] {
			return fmt.Errorf("field pipeline.features[%d].name is %q, want %q", j, f.Name, names[j])
		}
	}
	return nil
}

// checkColumn checks the transform of schema column col, the field where.
func checkColumn(c ColumnTransform, col schema.Column, where string) error {
	if c.Name != col.Name || c.Kind != col.Kind {
		return fmt.Errorf("field %s is %s %q, schema says %s %q", where, c.Kind, c.Name, col.Kind, col.Name)
	}
	if !finite(c.Impute) || !finite(c.Mean) {
		return fmt.Errorf("field %s: impute and mean must be finite", where)
	}
	switch c.Kind {
	case schema.Numeric:
		if !(c.Scale > 0) || !finite(c.Scale) {
			return fmt.Errorf("field %s.scale is %v, want a positive finite number", where, c.Scale)
		}
	case schema.Flag:
		if c.Scale != 0 || c.Mean != 0 {
			return fmt.Errorf("field %s: a flag has no mean or scale", where)
		}
	case schema.Categorical:
		for k := 1; k < len(c.Levels); k++ {
			if c.Levels[k-1] >= c.Levels[k] {
				return fmt.Errorf("field %s.levels is not sorted and unique at %q", where, c.Levels[k])
			}
		}
	}
	if c.Kind != schema.Categorical && len(c.Levels) > 0 {
		return fmt.Errorf("field %s.levels set on a %s column", where, c.Kind)
	}
	return nil
}

// checkUplift checks the uplift part against the schema's treatment
// column: its names, the control model and one model per distinct arm.
func checkUplift(u *UpliftModel, treat schema.Column, pl *Pipeline) error {
	if u.Treatment != treat.Name || u.Control != treat.Control {
		return fmt.Errorf("field uplift names treatment %q control %q, schema says %q control %q", u.Treatment, u.Control, treat.Name, treat.Control)
	}
	if err := checkLogReg(u.ControlModel, "uplift.control_model", pl); err != nil {
		return err
	}
	if len(u.Arms) == 0 {
		return errors.New("field uplift.arms is empty")
	}
	seen := map[string]bool{}
	for i, a := range u.Arms {
		if a.Arm == u.Control || seen[a.Arm] {
			return fmt.Errorf("field uplift.arms[%d].arm %q repeats an arm or the control", i, a.Arm)
		}
		seen[a.Arm] = true
		if err := checkLogReg(a.Model, fmt.Sprintf("uplift.arms[%d].model", i), pl); err != nil {
			return err
		}
	}
	return nil
}

// checkDropped checks that every dropped feature is a pipeline feature
// that is not selected, with a known reason.
func checkDropped(dropped []DroppedFeature, pl *Pipeline) error {
	index := map[string]int{}
	for j, f := range pl.Features {
		index[f.Name] = j
	}
	for i, df := range dropped {
		where := fmt.Sprintf("dropped_features[%d]", i)
		j, ok := index[df.Feature]
		switch {
		case !ok:
			return fmt.Errorf("field %s.feature %q is not a pipeline feature", where, df.Feature)
		case pl.Features[j].Selected:
			return fmt.Errorf("field %s.feature %q is selected in the pipeline", where, df.Feature)
		case df.Reason != DropWeak && df.Reason != DropCollinear:
			return fmt.Errorf("field %s.reason is %q, want %q or %q", where, df.Reason, DropWeak, DropCollinear)
		}
		if _, ok := index[df.With]; df.Reason == DropCollinear && !ok {
			return fmt.Errorf("field %s.with %q is not a pipeline feature", where, df.With)
		}
	}
	return nil
}

// checkLogReg checks one regression against the pipeline.
func checkLogReg(lr *LogReg, field string, pl *Pipeline) error {
	if lr == nil {
		return fmt.Errorf("field %s is missing", field)
	}
	if len(lr.Coef) != len(pl.Features) {
		return fmt.Errorf("field %s.coef has %d values, want %d (one per pipeline.features)", field, len(lr.Coef), len(pl.Features))
	}
	if !finite(lr.Intercept) || slices.ContainsFunc(lr.Coef, func(v float64) bool { return !finite(v) }) {
		return fmt.Errorf("field %s: coefficients must be finite", field)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
