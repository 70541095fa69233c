package worker

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/promoflow/promoflow/activities"
)

// nameRecorder is a worker registry that only records names.
type nameRecorder struct {
	sdkworker.Registry
	workflows, activities map[string]bool
}

func (r *nameRecorder) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.workflows[o.Name] = true
}

func (r *nameRecorder) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	r.activities[o.Name] = true
}

// TestEveryActivityNameIsRegistered reads every Act* constant the workflows
// call activities by and checks the worker registers each one, so a new
// activity cannot be forgotten (the run would retry "not registered"
// forever).
func TestEveryActivityNameIsRegistered(t *testing.T) {
	rec := &nameRecorder{workflows: map[string]bool{}, activities: map[string]bool{}}
	register(rec, activitySet{
		health: &activities.Health{}, ingest: &activities.Ingest{}, clean: &activities.Clean{}, plan: &activities.Plan{},
		train: &activities.Train{}, validate: &activities.Validate{}, aliases: &activities.Aliases{}, runs: &activities.Runs{},
		reports: &activities.Reports{}, scoring: &activities.Scoring{}, drift: &activities.Drift{},
	})
	files, err := filepath.Glob("../workflows/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if strings.HasPrefix(id.Name, "Act") && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						names = append(names, v)
					}
				}
			}
			return true
		})
	}
	if len(names) < 10 {
		t.Fatalf("found only %d activity names in workflows/: %v", len(names), names)
	}
	for _, n := range names {
		if !rec.activities[n] {
			t.Errorf("activity %q is called by a workflow but not registered", n)
		}
	}
	for _, wf := range []string{"DailyRetrain", "IngestDay", "Promote", "Rollback", "MonitorDrift", "ScoreDay", "StackCheck"} {
		if !rec.workflows[wf] {
			t.Errorf("workflow %q is not registered", wf)
		}
	}
}
