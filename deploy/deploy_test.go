// Package deploy holds promoflow's deployment files (docker compose,
// Kubernetes manifests, Prometheus, Alertmanager and Grafana configuration,
// the Dockerfile at the repository root) and this test, which validates what
// can be validated without a container engine or a cluster: every YAML file
// parses, Kubernetes objects are well formed and carry no secret values,
// every environment variable set for promoflow is one the binary reads, the
// Grafana dashboard queries only metrics the worker or the scoring service
// expose (taken from their real registries), the compose Prometheus
// configuration passes promtool, and the Dockerfile builds like the
// Makefile.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/promoflow/promoflow/control"
	"github.com/promoflow/promoflow/metrics"
	"github.com/promoflow/promoflow/registry"
	"github.com/promoflow/promoflow/serve"
)

// root is the repository root, relative to this package.
const root = ".."

// ---------------------------------------------------------------------------
// helpers

// yamlDocs decodes every document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

// get walks a decoded YAML/JSON value by map keys; nil when a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := get(v, keys...).(string)
	return s
}

func list(v any, keys ...string) []any {
	l, _ := get(v, keys...).([]any)
	return l
}

var (
	envHelpRe = regexp.MustCompile(`(?m)^\s+(PROMOFLOW_[A-Z0-9_]+)\s`)
	getenvRe  = regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("(PROMOFLOW_[A-Z0-9_]+)"\)`)
	literalRe = regexp.MustCompile(`"(PROMOFLOW_[A-Z0-9_]+)"`)
)

// binaryEnv is every PROMOFLOW_ variable the promoflow binary reads: the
// ones control.EnvHelp documents (control.FromEnv) and the ones its commands read
// directly (PROMOFLOW_API_TOKENS, PROMOFLOW_ACTOR).
func binaryEnv(t *testing.T) map[string]bool {
	t.Helper()
	env := map[string]bool{}
	for _, m := range envHelpRe.FindAllStringSubmatch(control.EnvHelp, -1) {
		env[m[1]] = true
	}
	files, err := filepath.Glob(filepath.Join(root, "cmd", "promoflow", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range getenvRe.FindAllStringSubmatch(string(src), -1) {
			env[m[1]] = true
		}
	}
	for _, must := range []string{"PROMOFLOW_PG_URL", "PROMOFLOW_API_TOKENS", "PROMOFLOW_METRICS_ADDR"} {
		if !env[must] {
			t.Fatalf("reading the binary's variables found no %s: the parsing is broken (found %v)", must, env)
		}
	}
	return env
}

// minioUsersEnv is every PROMOFLOW_ variable tools/minio-users reads.
func minioUsersEnv(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "tools", "minio-users", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]bool{}
	for _, m := range literalRe.FindAllStringSubmatch(string(src), -1) {
		env[m[1]] = true
	}
	if !env["PROMOFLOW_MINIO_ROOT_PASSWORD"] {
		t.Fatalf("tools/minio-users: found no PROMOFLOW_MINIO_ROOT_PASSWORD (found %v)", env)
	}
	return env
}

// ---------------------------------------------------------------------------
// YAML

// TestYAMLParses parses every YAML file under deploy/, each document of it.
func TestYAMLParses(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"compose/docker-compose.yml", "k8s/kustomization.yaml", "k8s/worker.yaml", "k8s/serve.yaml",
		"prometheus/prometheus.compose.yml", "prometheus/alertmanager.yml",
		"grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/promoflow.yml",
	} {
		if !slices.Contains(files, filepath.FromSlash(want)) {
			t.Errorf("deploy/%s is missing", want)
		}
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if docs := yamlDocs(t, f); len(docs) == 0 {
				t.Errorf("%s has no document", f)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Kubernetes

// k8sObjects returns every object of the manifests kustomization.yaml
// lists, by file.
func k8sObjects(t *testing.T) map[string][]map[string]any {
	t.Helper()
	kust := yamlDocs(t, filepath.Join("k8s", "kustomization.yaml"))[0]
	objs := map[string][]map[string]any{}
	for _, r := range list(kust, "resources") {
		f := filepath.Join("k8s", r.(string))
		objs[f] = yamlDocs(t, f)
	}
	files, _ := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	for _, f := range files {
		if _, listed := objs[f]; !listed && filepath.Base(f) != "kustomization.yaml" {
			t.Errorf("%s is not listed in k8s/kustomization.yaml resources", f)
		}
	}
	return objs
}

// checkObject reports what is wrong with one Kubernetes object.
func checkObject(o map[string]any) []string {
	var bad []string
	for _, k := range []string{"apiVersion", "kind"} {
		if str(o, k) == "" {
			bad = append(bad, "no "+k)
		}
	}
	if str(o, "metadata", "name") == "" {
		bad = append(bad, "no metadata.name")
	}
	if str(o, "kind") == "Secret" {
		// Secrets are created by the operator, never committed; a Secret
		// object here would at best be a placeholder someone fills in.
		bad = append(bad, "is a Secret: reference it by secretKeyRef instead")
		if get(o, "data") != nil || get(o, "stringData") != nil {
			bad = append(bad, "Secret carries data")
		}
	}
	return bad
}

// TestCheckObject checks the object checker itself.
func TestCheckObject(t *testing.T) {
	cases := []struct {
		name string
		obj  map[string]any
		bad  int
	}{
		{"fine", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}}, 0},
		{"no name", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}, 1},
		{"no kind", map[string]any{"apiVersion": "v1", "metadata": map[string]any{"name": "x"}}, 1},
		{"secret with data", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "x"}, "stringData": map[string]any{"k": "v"}}, 2},
	}
	for _, c := range cases {
		if got := checkObject(c.obj); len(got) != c.bad {
			t.Errorf("%s: %v, want %d problems", c.name, got, c.bad)
		}
	}
}

// TestK8sObjects checks every object: apiVersion, kind, metadata.name, no
// Secret; and, when kubectl is here, that `kubectl kustomize` renders them
// all.
func TestK8sObjects(t *testing.T) {
	n := 0
	kinds := map[string]int{}
	for f, docs := range k8sObjects(t) {
		for i, o := range docs {
			n++
			kinds[str(o, "kind")]++
			for _, b := range checkObject(o) {
				t.Errorf("%s document %d (%s %s): %s", f, i, str(o, "kind"), str(o, "metadata", "name"), b)
			}
		}
	}
	for kind, want := range map[string]int{"Deployment": 2, "PodDisruptionBudget": 2, "HorizontalPodAutoscaler": 1, "ConfigMap": 2, "Service": 2} {
		if kinds[kind] != want {
			t.Errorf("%d %s objects, want %d", kinds[kind], kind, want)
		}
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not found: kustomize rendering not checked")
		return
	}
	out, err := exec.Command(kubectl, "kustomize", "k8s").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize k8s: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	rendered := 0
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rendered++
		if str(o, "kind") != "Namespace" && str(o, "metadata", "namespace") != "promoflow" {
			t.Errorf("rendered %s %s is not in namespace promoflow", str(o, "kind"), str(o, "metadata", "name"))
		}
		for _, c := range list(o, "spec", "template", "spec", "containers") {
			if img := str(c, "image"); img == "promoflow" || !strings.Contains(img, ":") {
				t.Errorf("rendered image %q: the kustomization's images entry did not apply", img)
			}
		}
	}
	if rendered != n {
		t.Errorf("kubectl kustomize rendered %d objects, the files hold %d", rendered, n)
	}
}

// secretEnv are the variables that carry secrets: never a literal value.
var secretEnv = map[string]bool{
	"PROMOFLOW_PG_URL": true, "PROMOFLOW_MINIO_ACCESS_KEY": true,
	"PROMOFLOW_MINIO_SECRET_KEY": true, "PROMOFLOW_API_TOKENS": true,
}

// TestK8sEnv checks the containers: every variable set (directly or from a
// ConfigMap by envFrom) is read by the binary, secrets come by secretKeyRef
// from the Secrets deploy/README.md tells the operator to create, workers
// have probes on their metrics port and resource requests, and the PDBs,
// Services and the HPA select what they should.
func TestK8sEnv(t *testing.T) {
	env := binaryEnv(t)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]any{} // kind/name → object
	for _, docs := range k8sObjects(t) {
		for _, o := range docs {
			objs[str(o, "kind")+"/"+str(o, "metadata", "name")] = o
		}
	}
	for key, o := range objs {
		if str(o, "kind") != "Deployment" {
			continue
		}
		pod := get(o, "spec", "template")
		labels, _ := get(pod, "metadata", "labels").(map[string]any)
		sel, _ := get(o, "spec", "selector", "matchLabels").(map[string]any)
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s: selector %s=%v does not match the pod labels", key, k, v)
			}
		}
		if get(pod, "spec", "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", key)
		}
		for _, c := range list(pod, "spec", "containers") {
			name := key + "/" + str(c, "name")
			set := map[string]string{}
			for _, e := range list(c, "env") {
				n := str(e, "name")
				set[n] = "env"
				if !env[n] {
					t.Errorf("%s: sets %s, which the binary does not read", name, n)
				}
				if secretEnv[n] && get(e, "value") != nil {
					t.Errorf("%s: %s has a literal value; use secretKeyRef", name, n)
				}
				if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
					sn, sk := str(ref, "name"), str(ref, "key")
					if !bytes.Contains(readme, []byte(sn)) || !bytes.Contains(readme, []byte(sk)) {
						t.Errorf("%s: Secret %s key %s is not documented in deploy/README.md", name, sn, sk)
					}
				} else if secretEnv[n] {
					t.Errorf("%s: %s does not come from a secretKeyRef", name, n)
				}
			}
			for _, ef := range list(c, "envFrom") {
				cmName := str(ef, "configMapRef", "name")
				cm, ok := objs["ConfigMap/"+cmName]
				if !ok {
					t.Errorf("%s: envFrom ConfigMap %q is not in the manifests", name, cmName)
					continue
				}
				data, _ := get(cm, "data").(map[string]any)
				for k := range data {
					set[k] = "ConfigMap " + cmName
					if !env[k] {
						t.Errorf("%s: ConfigMap %s sets %s, which the binary does not read", name, cmName, k)
					}
					if secretEnv[k] {
						t.Errorf("%s: ConfigMap %s carries the secret %s", name, cmName, k)
					}
				}
				if get(ef, "secretRef") != nil {
					t.Errorf("%s: envFrom secretRef: reference secret keys one by one", name)
				}
			}
			for _, n := range []string{"PROMOFLOW_PG_URL", "PROMOFLOW_MINIO_ACCESS_KEY", "PROMOFLOW_MINIO_SECRET_KEY", "PROMOFLOW_TEMPORAL_ADDRESS"} {
				if set[n] == "" && !(strings.Contains(key, "serve") && n == "PROMOFLOW_TEMPORAL_ADDRESS") {
					t.Errorf("%s: %s is not set", name, n)
				}
			}
			if get(c, "resources", "requests", "cpu") == nil || get(c, "resources", "requests", "memory") == nil {
				t.Errorf("%s: no cpu and memory requests", name)
			}
			if get(c, "securityContext", "allowPrivilegeEscalation") != false || get(c, "securityContext", "readOnlyRootFilesystem") != true {
				t.Errorf("%s: container securityContext must forbid privilege escalation and use a read-only root", name)
			}
			args := list(c, "args")
			if len(args) == 0 {
				t.Errorf("%s: no args (worker or serve)", name)
				continue
			}
			switch args[0] {
			case "worker":
				if set["PROMOFLOW_METRICS_ADDR"] == "" {
					t.Errorf("%s: PROMOFLOW_METRICS_ADDR is not set (the default 127.0.0.1 is unreachable from probes)", name)
				}
				checkProbes(t, name, c, "metrics", "/metrics", "/metrics")
			case "serve":
				if !slices.Contains(args, "--models") || !slices.Contains(args, "--addr") {
					t.Errorf("%s: serve needs --models and --addr: %v", name, args)
				}
				if set["PROMOFLOW_API_TOKENS"] == "" {
					t.Errorf("%s: PROMOFLOW_API_TOKENS is not set; serve refuses to start without it", name)
				}
				checkProbes(t, name, c, "http", "/readyz", "/healthz")
			default:
				t.Errorf("%s: args %v start with neither worker nor serve", name, args)
			}
		}
	}
	worker := objs["Deployment/promoflow-worker"]
	if r, _ := get(worker, "spec", "replicas").(int); r < 2 {
		t.Errorf("worker replicas = %v, want at least 2 on the one task queue", get(worker, "spec", "replicas"))
	}
	for _, sel := range []struct{ obj, deploy string }{
		{"PodDisruptionBudget/promoflow-worker", "promoflow-worker"},
		{"PodDisruptionBudget/promoflow-serve", "promoflow-serve"},
	} {
		want := get(objs["Deployment/"+sel.deploy], "spec", "selector", "matchLabels")
		if got := get(objs[sel.obj], "spec", "selector", "matchLabels"); !equalYAML(got, want) {
			t.Errorf("%s selects %v, the Deployment's pods are %v", sel.obj, got, want)
		}
	}
	for _, svc := range []string{"Service/promoflow-serve", "Service/promoflow-worker-metrics"} {
		deploy := strings.TrimSuffix(strings.TrimPrefix(svc, "Service/"), "-metrics")
		want := get(objs["Deployment/"+deploy], "spec", "selector", "matchLabels")
		if got := get(objs[svc], "spec", "selector"); !equalYAML(got, want) {
			t.Errorf("%s selects %v, want %v", svc, got, want)
		}
	}
	hpa := objs["HorizontalPodAutoscaler/promoflow-serve"]
	if str(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa, "spec", "scaleTargetRef", "name") != "promoflow-serve" {
		t.Errorf("the HPA does not scale Deployment promoflow-serve: %v", get(hpa, "spec", "scaleTargetRef"))
	}
}

func equalYAML(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return a != nil && bytes.Equal(ja, jb)
}

// checkProbes checks a container's readiness and liveness probes are HTTP
// GETs of the given paths on the named port, which the container declares.
func checkProbes(t *testing.T, name string, c any, port, ready, live string) {
	t.Helper()
	declared := false
	for _, p := range list(c, "ports") {
		declared = declared || str(p, "name") == port
	}
	if !declared {
		t.Errorf("%s: declares no port named %s", name, port)
	}
	for probe, path := range map[string]string{"readinessProbe": ready, "livenessProbe": live} {
		if got := str(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s: %s path %q, want %q", name, probe, got, path)
		}
		if got := get(c, probe, "httpGet", "port"); got != port {
			t.Errorf("%s: %s port %v, want %s", name, probe, got, port)
		}
	}
}

// TestModelsConfigMap checks the ConfigMap of per-model configs holds
// configs/*.yaml exactly.
func TestModelsConfigMap(t *testing.T) {
	docs := yamlDocs(t, filepath.Join("k8s", "models-configmap.yaml"))
	data, _ := get(docs[0], "data").(map[string]any)
	files, _ := filepath.Glob(filepath.Join(root, "configs", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no configs/*.yaml")
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		key := filepath.Base(f)
		got, ok := data[key].(string)
		if !ok {
			t.Errorf("ConfigMap promoflow-models has no key %s", key)
			continue
		}
		if got != string(want) {
			t.Errorf("ConfigMap promoflow-models key %s differs from configs/%s: regenerate it (see the file's comment)", key, key)
		}
	}
	if len(data) != len(files) {
		t.Errorf("ConfigMap promoflow-models has %d keys, configs/ has %d files", len(data), len(files))
	}
}

// ---------------------------------------------------------------------------
// docker compose

var composeVarRe = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`)

// composeVars returns the variables a compose file interpolates (${NAME...});
// $$ is compose's escape for a literal $ and interpolates nothing.
func composeVars(src string) []string {
	src = strings.ReplaceAll(src, "$$", "")
	seen := map[string]bool{}
	var out []string
	for _, m := range composeVarRe.FindAllStringSubmatch(src, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// TestComposeVars checks the interpolation scanner.
func TestComposeVars(t *testing.T) {
	cases := []struct{ in, want string }{
		{`a: ${A:?set A}`, "A"},
		{`a: ${A:-x} ${B}`, "A B"},
		{`cmd: name=$${sa%%=*} $${HOME}`, ""},
		{`url: postgres://u:${PW:?x}@h/db ${PW}`, "PW"},
	}
	for _, c := range cases {
		if got := strings.Join(composeVars(c.in), " "); got != c.want {
			t.Errorf("composeVars(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestCompose checks docker-compose.yml: the services the issue asks for,
// depends_on and volumes that exist, bind mounts that exist, variables set
// for promoflow (and tools/minio-users) that they read, every interpolated
// variable listed in .env.example, .env.example without values and .env
// git-ignored.
func TestCompose(t *testing.T) {
	const dir = "compose"
	src, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := yamlDocs(t, filepath.Join(dir, "docker-compose.yml"))[0]
	services, _ := get(doc, "services").(map[string]any)
	for _, want := range []string{"postgres", "temporal", "temporal-setup", "minio", "minio-setup", "prometheus", "alertmanager", "grafana", "worker", "serve"} {
		if services[want] == nil {
			t.Errorf("service %s is missing", want)
		}
	}
	if !strings.HasPrefix(str(services["temporal"], "image"), "temporalio/") || str(services["temporal"], "environment", "DB") != "postgres12" {
		t.Errorf("temporal must be a temporalio image on PostgreSQL (DB=postgres12)")
	}
	volumes, _ := get(doc, "volumes").(map[string]any)
	binEnv, muEnv := binaryEnv(t), minioUsersEnv(t)
	for name, svc := range services {
		if str(svc, "image") == "" && get(svc, "build") == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		deps := get(svc, "depends_on")
		depNames := []string{}
		switch d := deps.(type) {
		case map[string]any:
			for k := range d {
				depNames = append(depNames, k)
			}
		case []any:
			for _, k := range d {
				depNames = append(depNames, k.(string))
			}
		}
		for _, d := range depNames {
			if services[d] == nil {
				t.Errorf("%s depends on unknown service %s", name, d)
			}
		}
		for _, v := range list(svc, "volumes") {
			spec, _ := v.(string)
			source, _, _ := strings.Cut(spec, ":")
			if strings.HasPrefix(source, ".") || strings.HasPrefix(source, "/") {
				if _, err := os.Stat(filepath.Join(dir, source)); err != nil {
					t.Errorf("%s: bind mount %s: %v", name, source, err)
				}
			} else if _, ok := volumes[source]; !ok {
				t.Errorf("%s: volume %s is not declared", name, source)
			}
		}
		env, _ := get(svc, "environment").(map[string]any)
		var reads map[string]bool
		switch {
		case strings.Contains(str(svc, "build", "target"), "minio-users"):
			reads = muEnv
		case str(svc, "build", "target") == "runtime":
			reads = binEnv
		}
		for k := range env {
			switch {
			case reads != nil && !reads[k]:
				t.Errorf("%s: sets %s, which its program does not read", name, k)
			case reads == nil && strings.HasPrefix(k, "PROMOFLOW_") && !mountedScriptReads(t, dir, svc, k):
				t.Errorf("%s: sets %s, which no script mounted into it reads", name, k)
			}
		}
	}
	for _, name := range []string{"worker", "serve"} {
		if str(services[name], "build", "target") != "runtime" {
			t.Errorf("%s: not built from the Dockerfile's runtime target", name)
		}
	}
	if !strings.HasPrefix(str(services["worker"], "environment", "PROMOFLOW_METRICS_ADDR"), "0.0.0.0:") {
		t.Errorf("worker: PROMOFLOW_METRICS_ADDR must listen on all interfaces for Prometheus")
	}

	example, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for i, line := range strings.Split(string(example), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || v != "" {
			t.Errorf(".env.example line %d: want NAME= without a value, got %q", i+1, line)
		}
		listed[k] = true
	}
	for _, v := range composeVars(string(src)) {
		if !listed[v] {
			t.Errorf("docker-compose.yml uses ${%s}, which .env.example does not list", v)
		}
	}
	ignore, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil || !slices.Contains(strings.Fields(string(ignore)), ".env") {
		t.Errorf("deploy/compose/.gitignore must ignore .env (%v)", err)
	}
	if out, err := exec.Command("git", "check-ignore", "-q", filepath.Join(dir, ".env")).CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			t.Errorf("git does not ignore deploy/compose/.env")
		} else {
			t.Logf("git check-ignore not run: %v %s", err, out)
		}
	}
}

// mountedScriptReads reports whether a file bind-mounted into svc mentions
// the variable (an init script reading it).
func mountedScriptReads(t *testing.T, dir string, svc any, name string) bool {
	for _, v := range list(svc, "volumes") {
		spec, _ := v.(string)
		source, _, _ := strings.Cut(spec, ":")
		if !strings.HasPrefix(source, ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, source))
		if err == nil && bytes.Contains(data, []byte(name)) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// metrics and the dashboard

// recorder is a registry that also records the name and kind of every
// metric a registered collector describes, so that vectors never used
// (which Gather does not show) count as exposed too.
type recorder struct {
	*prometheus.Registry
	kinds map[string]dto.MetricType
}

var fqNameRe = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	kind := dto.MetricType_UNTYPED
	switch c.(type) {
	case *prometheus.HistogramVec, prometheus.Histogram:
		kind = dto.MetricType_HISTOGRAM
	case *prometheus.SummaryVec, prometheus.Summary:
		kind = dto.MetricType_SUMMARY
	}
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqNameRe.FindStringSubmatch(d.String()); m != nil {
			if _, seen := r.kinds[m[1]]; !seen || kind != dto.MetricType_UNTYPED {
				r.kinds[m[1]] = kind
			}
		}
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// names returns every series name the registry exposes: gathered families
// and described metrics, with _bucket/_sum/_count for histograms and
// _sum/_count for summaries.
func (r *recorder) names(t *testing.T) map[string]bool {
	t.Helper()
	kinds := map[string]dto.MetricType{}
	for n, k := range r.kinds {
		kinds[n] = k
	}
	fams, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		kinds[f.GetName()] = f.GetType()
	}
	out := map[string]bool{}
	for n, k := range kinds {
		out[n] = true
		switch k {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			out[n+"_bucket"], out[n+"_sum"], out[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[n+"_sum"], out[n+"_count"] = true, true
		}
	}
	return out
}

func newRecorder() *recorder {
	r := &recorder{Registry: prometheus.NewRegistry(), kinds: map[string]dto.MetricType{}}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// exposedMetrics starts the worker's collectors (metrics.New, as
// worker.RunWorker does) and the scoring service's (serve.New, as promoflow
// serve does) in-process, exercises them, and returns every series name
// either exposes. Prometheus adds "up" to every scraped target.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	worker := newRecorder()
	m := metrics.New(worker)
	m.ObserveActivity("TrainModel", time.Second, errors.New("boom"))
	m.AddIngested("email", 10)
	m.AddQuarantined("email", "range", 1)
	m.SetDrift("m", "age", "psi", 0.1)
	m.SetModelMetric("m", "auc_drop", 0.01)
	m.ObserveMove("m", "production", "promote", "me")
	m.ObserveMove("m", "production", "rollback", "monitor")
	m.RetrainSucceeded("m", time.Now())

	service := newRecorder()
	mc, err := minio.New("127.0.0.1:1", &minio.Options{Creds: credentials.NewStaticV4("k", "s", "")})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := serve.ParseTokens("reader:tok:read")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Registry: registry.New(mc, "b"), Models: []string{"m"}, Tokens: tokens}, service)
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/models", nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "promoflow_serve_request_duration_seconds_bucket") {
		t.Fatalf("serve /metrics: %d, no request latency histogram:\n%.500s", rec.Code, rec.Body.String())
	}

	names := worker.names(t)
	for n := range service.names(t) {
		names[n] = true
	}
	names["up"] = true
	for _, must := range []string{"promoflow_drift", "promoflow_activity_duration_seconds_bucket", "promoflow_serve_model_version", "go_goroutines"} {
		if !names[must] {
			t.Fatalf("exposed metrics lack %s: collecting them is broken", must)
		}
	}
	return names
}

var (
	promqlStringRe   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promqlMatcherRe  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGroupingRe = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdentRe    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	labelValuesRe    = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,`)
)

var promqlKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true, "Inf": true, "NaN": true,
}

// queriedMetrics returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges and groupings are
// removed, that are neither functions (followed by a parenthesis) nor
// keywords.
func queriedMetrics(expr string) []string {
	if m := labelValuesRe.FindStringSubmatch(expr); m != nil {
		return []string{m[1]}
	}
	e := promqlStringRe.ReplaceAllString(expr, `""`)
	e = promqlMatcherRe.ReplaceAllString(e, " ")
	e = promqlRangeRe.ReplaceAllString(e, " ")
	e = promqlGroupingRe.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promqlIdentRe.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.$") {
			continue // part of a number (1e+06) or a variable
		}
		if rest := strings.TrimLeft(e[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") || promqlKeywords[name] {
			continue // a function or a keyword
		}
		out = append(out, name)
	}
	return out
}

// TestQueriedMetrics checks the PromQL scanner.
func TestQueriedMetrics(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`promoflow_drift{model=~"$model",test="psi"}`, "promoflow_drift"},
		{`max by (model, feature) (promoflow_drift{test="psi"}) >= 0.25`, "promoflow_drift"},
		{`histogram_quantile(0.95, sum by (le, route) (rate(promoflow_serve_request_duration_seconds_bucket[$__rate_interval])))`, "promoflow_serve_request_duration_seconds_bucket"},
		{`time() - promoflow_last_successful_retrain_timestamp_seconds > 36 * 3600`, "promoflow_last_successful_retrain_timestamp_seconds"},
		{`sum(a_total) / sum by (x) (b_total) or vector(0)`, "a_total b_total"},
		{`sum by (job) (up{job=~"promoflow.*"})`, "up"},
		{`label_values(promoflow_model_metric, model)`, "promoflow_model_metric"},
		{`x_total offset 1h and on (model) y 1e+06`, "x_total y"},
	}
	for _, c := range cases {
		if got := strings.Join(queriedMetrics(c.expr), " "); got != c.want {
			t.Errorf("queriedMetrics(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

// dashboardQueries returns every PromQL expression of a Grafana dashboard:
// panel targets (also inside rows) and query variables.
func dashboardQueries(dash map[string]any) map[string]string {
	out := map[string]string{}
	var walkPanels func(ps []any)
	walkPanels = func(ps []any) {
		for _, p := range ps {
			for _, tg := range list(p, "targets") {
				if e := str(tg, "expr"); e != "" {
					out[str(p, "title")+"/"+str(tg, "refId")] = e
				}
			}
			walkPanels(list(p, "panels"))
		}
	}
	walkPanels(list(dash, "panels"))
	for _, v := range list(dash, "templating", "list") {
		if q := str(v, "query", "query"); q != "" {
			out["$"+str(v, "name")] = q
		} else if q := str(v, "query"); q != "" {
			out["$"+str(v, "name")] = q
		}
	}
	return out
}

// TestDashboard parses the Grafana dashboard and checks that every metric
// it queries is exposed by the worker or the scoring service, that it
// covers the drift and pipeline metrics, and that it uses the provisioned
// data source.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("grafana", "dashboards", "promoflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("promoflow.json: %v", err)
	}
	if str(dash, "uid") == "" || str(dash, "title") == "" {
		t.Error("dashboard has no uid or title")
	}
	exposed := exposedMetrics(t)
	queries := dashboardQueries(dash)
	if len(queries) < 10 {
		t.Fatalf("found only %d queries in the dashboard", len(queries))
	}
	used := map[string]bool{}
	for where, q := range queries {
		names := queriedMetrics(q)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, q)
		}
		for _, n := range names {
			used[n] = true
			if !exposed[n] {
				t.Errorf("%s: queries %s, which neither the worker nor serve exposes", where, n)
			}
		}
	}
	for _, want := range []string{
		"promoflow_drift", "promoflow_model_metric",
		"promoflow_activity_duration_seconds_bucket", "promoflow_activity_failures_total",
		"promoflow_rows_ingested_total", "promoflow_rows_quarantined_total",
		"promoflow_promotions_total", "promoflow_rollbacks_total",
		"promoflow_last_successful_retrain_timestamp_seconds",
		"promoflow_serve_request_duration_seconds_bucket",
	} {
		if !used[want] {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
	ds := yamlDocs(t, filepath.Join("grafana", "provisioning", "datasources", "prometheus.yml"))[0]
	uid := str(list(ds, "datasources")[0], "uid")
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if d, ok := x["datasource"].(map[string]any); ok && d["uid"] != uid {
				t.Errorf("a datasource refers to uid %v, the provisioned one is %s", d["uid"], uid)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(dash)
	prov := yamlDocs(t, filepath.Join("grafana", "provisioning", "dashboards", "promoflow.yml"))[0]
	if p := str(list(prov, "providers")[0], "options", "path"); p != "/var/lib/grafana/dashboards" {
		t.Errorf("dashboard provider path %q is not where compose mounts deploy/grafana/dashboards", p)
	}
}

// TestAlertRulesUseExposedMetrics checks the alert rules query only
// metrics the worker exposes, or the Temporal SDK's temporal_* metrics that
// its metrics handler forwards (not started here).
func TestAlertRulesUseExposedMetrics(t *testing.T) {
	exposed := exposedMetrics(t)
	doc := yamlDocs(t, filepath.Join("prometheus", "rules", "promoflow.yml"))[0]
	for _, g := range list(doc, "groups") {
		for _, r := range list(g, "rules") {
			for _, n := range queriedMetrics(str(r, "expr")) {
				if !exposed[n] && !strings.HasPrefix(n, "temporal_") {
					t.Errorf("alert %s queries %s, which is not exposed", str(r, "alert"), n)
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// promtool and amtool

// TestPromtool runs `promtool check config` on both Prometheus
// configurations (which also checks the rule files they load) and, when
// amtool is here, `amtool check-config` on alertmanager.yml.
func TestPromtool(t *testing.T) {
	cases := []struct{ tool, arg, file string }{
		{"promtool", "config", "prometheus/prometheus.compose.yml"},
		{"promtool", "config", "prometheus/prometheus.yml"},
		{"amtool", "", "prometheus/alertmanager.yml"},
	}
	for _, c := range cases {
		t.Run(c.tool+" "+c.file, func(t *testing.T) {
			bin, err := exec.LookPath(c.tool)
			if err != nil {
				t.Skipf("%s not found (Debian packages prometheus, prometheus-alertmanager)", c.tool)
			}
			args := []string{"check", c.arg, c.file}
			if c.tool == "amtool" {
				args = []string{"check-config", c.file}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", c.tool, strings.Join(args, " "), err, out)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Dockerfile

// dockerStage is one FROM ... AS name stage with its instructions, each
// with continuation lines joined.
type dockerStage struct {
	name, from string
	lines      []string
}

func parseDockerfile(src string) []dockerStage {
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			s := dockerStage{from: fields[1]}
			if len(fields) >= 4 && strings.EqualFold(fields[2], "AS") {
				s.name = fields[3]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	for _, l := range strings.Split(src, "\n") {
		t := strings.TrimSpace(l)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		flush()
	}
	flush()
	return stages
}

var (
	makeLdflagsRe = regexp.MustCompile(`(?m)^LDFLAGS\s*:?=\s*(.+)$`)
	makeBuildRe   = regexp.MustCompile(`(?m)^\t\$\(GO\) build -ldflags "\$\(LDFLAGS\)" -o \S+ (\./cmd/\S+)$`)
	dockerBuildRe = regexp.MustCompile(`go build (?:-trimpath )?-ldflags "([^"]+)" -o (\S+) (\./cmd/\S+)$`)
)

// TestDockerfile checks the Dockerfile against the Makefile and the
// issue's rules: the build stage builds the Makefile's package with its
// ldflags using cache mounts, the runtime is distroless or slim and runs
// as a non-root user, ENV sets only variables the binary reads, and
// .dockerignore leaves out no package the binary needs.
func TestDockerfile(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	mk := makeBuildRe.FindStringSubmatch(string(makefile))
	ld := makeLdflagsRe.FindStringSubmatch(string(makefile))
	if mk == nil || ld == nil {
		t.Fatal("Makefile: no build recipe `$(GO) build -ldflags \"$(LDFLAGS)\" -o ... ./cmd/...` or LDFLAGS")
	}
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(string(src))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a multi-stage build", len(stages))
	}
	var build *dockerStage
	var buildLine []string
	for i := range stages {
		for _, l := range stages[i].lines {
			if m := dockerBuildRe.FindStringSubmatch(l); m != nil && strings.HasPrefix(l, "RUN ") {
				build, buildLine = &stages[i], m
				if !strings.Contains(l, "--mount=type=cache,target=/go/pkg/mod") || !strings.Contains(l, "--mount=type=cache,target=/root/.cache/go-build") {
					t.Errorf("build RUN has no module and build cache mounts: %s", l)
				}
			}
		}
	}
	if build == nil {
		t.Fatal("Dockerfile: no RUN go build -ldflags \"...\" -o ... ./cmd/...")
	}
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage is FROM %s, want a golang image", build.from)
	}
	if buildLine[3] != mk[1] {
		t.Errorf("Dockerfile builds %s, the Makefile %s", buildLine[3], mk[1])
	}
	if got, want := strings.ReplaceAll(buildLine[1], "${VERSION}", "$(VERSION)"), strings.TrimSpace(ld[1]); got != want {
		t.Errorf("Dockerfile ldflags %q, Makefile LDFLAGS %q", got, want)
	}

	final := stages[len(stages)-1]
	if !strings.Contains(final.from, "distroless") && !strings.Contains(final.from, "-slim") {
		t.Errorf("runtime stage is FROM %s, want distroless or debian-slim", final.from)
	}
	env := binaryEnv(t)
	var user, entry string
	copied := false
	for _, l := range final.lines {
		f := strings.Fields(l)
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = f[1]
		case "ENTRYPOINT":
			entry = l
		case "COPY":
			copied = copied || strings.Contains(l, "--from="+build.name+" "+filepath.Dir(buildLine[2]))
		case "ENV":
			for _, kv := range f[1:] {
				k, _, _ := strings.Cut(kv, "=")
				if !env[k] {
					t.Errorf("runtime ENV sets %s, which the binary does not read", k)
				}
			}
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("runtime USER %q: want a non-root numeric user", user)
	}
	if !copied {
		t.Errorf("runtime stage does not copy the binary from stage %s", build.name)
	}
	if !strings.Contains(entry, "promoflow") {
		t.Errorf("runtime ENTRYPOINT %q does not run promoflow", entry)
	}
	checkDockerignore(t)
}

// checkDockerignore fails when .dockerignore leaves out a folder holding a
// package cmd/promoflow depends on.
func checkDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/promoflow")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	abs, _ := filepath.Abs(root)
	for _, pat := range strings.Fields(string(data)) {
		if strings.HasPrefix(pat, "#") || strings.ContainsAny(pat, "*!") {
			continue
		}
		for _, dir := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			rel, err := filepath.Rel(abs, dir)
			if err != nil || strings.HasPrefix(rel, "..") {
				continue
			}
			if rel == pat || strings.HasPrefix(rel, pat+string(filepath.Separator)) {
				t.Errorf(".dockerignore leaves out %s, which holds package %s the binary needs", pat, rel)
			}
		}
	}
	if !strings.Contains(string(data), ".env") || !strings.Contains(string(data), ".stack") {
		t.Error(".dockerignore must leave out .env and .stack (secrets)")
	}
}

// TestDockerBuildCommand runs the Dockerfile's build command here (as the
// build stage would, CGO off) and checks the binary reports the version
// passed in. Skipped with -short: it compiles the whole binary.
func TestDockerBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the binary")
	}
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var m []string
	for _, s := range parseDockerfile(string(src)) {
		for _, l := range s.lines {
			if mm := dockerBuildRe.FindStringSubmatch(l); mm != nil {
				m = mm
			}
		}
	}
	if m == nil {
		t.Fatal("no go build in the Dockerfile")
	}
	bin := filepath.Join(t.TempDir(), "promoflow")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", strings.ReplaceAll(m[1], "${VERSION}", "deploytest"), "-o", bin, m[3])
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "promoflow deploytest") {
		t.Fatalf("promoflow version: %v %q", err, out)
	}
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("static binary: %d MiB", fi.Size()>>20)
	}
}
