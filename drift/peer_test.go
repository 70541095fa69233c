package drift

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// peerColumn is one column of drift_peer.py's output.
type peerColumn struct {
	PSI       float64   `json:"psi"`
	Bins      int       `json:"bins"`
	Edges     []float64 `json:"edges"`
	RefCounts []int64   `json:"ref_counts"`
	CurCounts []int64   `json:"cur_counts"`
	KSStat    float64   `json:"ks_statistic"`
	KSP       float64   `json:"ks_pvalue"`
}

type peerOutput struct {
	RefRows  int                   `json:"ref_rows"`
	CurRows  int                   `json:"cur_rows"`
	RefWhere string                `json:"ref_where"`
	CurWhere string                `json:"cur_where"`
	Columns  map[string]peerColumn `json:"columns"`
}

const sharedData = "/work/shared/data"

// readFiltered returns the numeric values of columns in the rows of a
// shared CSV where the where-column equals the value (as drift_peer.py's
// --ref-where/--cur-where); empty cells are dropped like pandas NaNs.
func readFiltered(t *testing.T, file, where string, columns []string) map[string][]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedData, file))
	if err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	if strings.HasPrefix(file, "bank") {
		r.Comma = ';'
	}
	header, err := r.Read()
	if err != nil {
		t.Fatalf("read header of %s: %v", file, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[h] = i
	}
	wcol, wval, _ := strings.Cut(where, "=")
	out := map[string][]float64{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		if rec[idx[wcol]] != wval {
			continue
		}
		for _, c := range columns {
			if rec[idx[c]] == "" {
				continue
			}
			v, err := strconv.ParseFloat(rec[idx[c]], 64)
			if err != nil {
				t.Fatalf("%s column %s: %v", file, c, err)
			}
			out[c] = append(out[c], v)
		}
	}
	return out
}

// TestAgainstPeer checks PSI bin by bin and KS against drift_peer.py's
// recorded output (see testdata/README.md for the commands).
func TestAgainstPeer(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("%s absent: %v", sharedData, err)
	}
	for _, tc := range []struct {
		golden, file string
		asymp        bool
	}{
		{"peer_hillstrom_web_phone.json", "hillstrom.csv", true},
		{"peer_bank_may_jun.json", "bank-full.csv", true},
		{"peer_bank_dec_mar.json", "bank-full.csv", false},
		{"peer_bank_oct_sep.json", "bank-full.csv", false},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			var peer peerOutput
			if err := json.Unmarshal(data, &peer); err != nil {
				t.Fatalf("decode %s: %v", tc.golden, err)
			}
			var cols []string
			for c := range peer.Columns {
				cols = append(cols, c)
			}
			ref := readFiltered(t, tc.file, peer.RefWhere, cols)
			cur := readFiltered(t, tc.file, peer.CurWhere, cols)
			for _, c := range cols {
				want := peer.Columns[c]
				nref := NewNumeric(ref[c])
				got := CompareNumeric(DefaultConfig(), c, nref, cur[c])
				if len(got.Edges) != len(want.Edges) {
					t.Fatalf("%s: got %d edges %v, want %d %v", c, len(got.Edges), got.Edges, len(want.Edges), want.Edges)
				}
				for i := range want.Edges {
					if got.Edges[i] != want.Edges[i] {
						t.Errorf("%s edge %d: got %v, want %v", c, i, got.Edges[i], want.Edges[i])
					}
				}
				for i := range want.RefCounts {
					if got.RefCounts[i] != want.RefCounts[i] || got.CurCounts[i] != want.CurCounts[i] {
						t.Errorf("%s bin %d: got ref %d cur %d, want ref %d cur %d", c, i, got.RefCounts[i], got.CurCounts[i], want.RefCounts[i], want.CurCounts[i])
					}
				}
				if math.Abs(got.PSI-want.PSI) > 1e-12 {
					t.Errorf("%s PSI: got %.15g, want %.15g", c, got.PSI, want.PSI)
				}
				if math.Abs(got.KS.Statistic-want.KSStat) > 1e-12 {
					t.Errorf("%s KS statistic: got %.15g, want %.15g", c, got.KS.Statistic, want.KSStat)
				}
				wantMethod := KSExact
				if tc.asymp {
					wantMethod = KSAsymptotic
				}
				if got.KS.Method != wantMethod {
					t.Errorf("%s KS method: got %s, want %s", c, got.KS.Method, wantMethod)
				}
				// Exact p-values match scipy to rounding; the asymptotic
				// one is the limiting Kolmogorov law where scipy uses the
				// finite-n kstwo(round(en)), so allow a little slack.
				tol := 1e-9 * math.Max(want.KSP, 1e-300)
				if tc.asymp {
					tol = 0.01
				}
				if math.Abs(got.KS.PValue-want.KSP) > tol {
					t.Errorf("%s KS p-value: got %.15g, want %.15g (tol %g)", c, got.KS.PValue, want.KSP, tol)
				}
				t.Logf("%s: psi %.6g ks %.6g p %.6g (peer p %.6g)", c, got.PSI, got.KS.Statistic, got.KS.PValue, want.KSP)
			}
		})
	}
}
