package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRecord checks a recorded configuration gives back the training
// settings, schema and split it was taken from, and pins the JSON keys
// that manifests and training keys hold.
func TestRecord(t *testing.T) {
	base := "name: m\nsource: s\nwindow_days: 5\nholdout_fraction: 0.25\ntrain:\n  seed: 7\n  c: [0.5, 2]\n" +
		"clean:\n  max_rows_per_customer_day: 4\n  schema:\n    columns:\n      - {name: id, kind: id}\n      - {name: x, kind: numeric}\n      - {name: y, kind: target}\n"
	m, err := Parse([]byte(base), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m.Record())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`{"train":{"Seed":7,"C":[0.5,2],`, `"window_days":5,"holdout_fraction":0.25,"clean":{"schema":{"columns":[`, `"max_rows_per_customer_day":4`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("recorded config %s lacks %s", data, key)
		}
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	got := r.Model(m.Name, m.Source)
	if !reflect.DeepEqual(got.TrainConfig(), m.TrainConfig()) || !reflect.DeepEqual(got.Schema(), m.Schema()) ||
		got.WindowDays != m.WindowDays || got.HoldoutFraction != m.HoldoutFraction || got.Name != "m" || got.Source != "s" {
		t.Errorf("Record round trip = %+v, want the settings of %+v", got, m)
	}
}
