package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The layering of docs/architecture.md, checked over `go list -deps` (production code, not
// tests): data flows watcher → journal → archive lanes → wire clients, and only cmd/ wires
// them together.
const module = "github.com/archivist-project/archivist/"

// layerRule says which project packages the packages under one folder may depend on,
// transitively.
type layerRule struct {
	under string   // the packages this rule is about: the folder and everything below it
	may   []string // project folders they may use besides their own sub-packages
	why   string
}

// plumbing is what every remote call shares: the authorizing transport and body draining,
// redaction, failure classes, OAuth, multipart forwarding helpers. Each may use the ones
// before it in the list; the rules below check that none of them imports a client.
var plumbing = []string{"archive/remote", "archive/redact", "archive/failure", "archive/oauth", "archive/forward"}

var layerRules = []layerRule{
	{under: "config", why: "config is a leaf: loading a configuration must not pull in a pipeline, a journal or a wire client"},
	{under: "journal", why: "the journal is a leaf: it stores records and knows nothing of watchers or remote APIs"},
	{under: "watcher", why: "the watcher only reports files; it may use its own sub-packages"},
	{under: "systemd", why: "systemd integration is a leaf"},
	{under: "archive/remote", why: "shared remote-call plumbing imports no project package"},
	{under: "archive/redact", why: "shared remote-call plumbing imports no client"},
	{under: "archive/failure", may: plumbing, why: "shared remote-call plumbing imports no client"},
	{under: "archive/oauth", may: plumbing, why: "shared remote-call plumbing imports no client"},
	{under: "archive/forward", may: plumbing, why: "shared remote-call plumbing imports no client"},
	{under: "archive/globalrelay", may: plumbing, why: "a wire client imports no journal, pipeline or other client"},
	{under: "archive/salesforce", may: plumbing, why: "a wire client imports no journal, pipeline or other client"},
	{under: "archive/genesys", may: plumbing, why: "a wire client imports no journal, pipeline or other client"},
	{under: "archive/talkdesk", may: plumbing, why: "a wire client imports no journal, pipeline or other client"},
	// The lanes' own packages: each knows the journal's records and the plumbing it needs,
	// never the pipeline that wires them, nor a lane of another stage.
	{under: "archive/events", may: append([]string{"archive/globalrelay", "archive/transcript", "archive/filekey", "journal", "watcher/beneath"}, plumbing...),
		why: "events are pure builders of Global Relay requests: records and transcripts in, requests out"},
	{under: "archive/gate", may: plumbing, why: "a destination's health knows only the failure model"},
	{under: "archive/stage", may: append([]string{"archive/gate", "journal"}, plumbing...), why: "what the lanes share knows no lane and no client"},
	{under: "archive/forwarding", may: append([]string{"archive/gate", "archive/stage", "archive/ondisk", "archive/filekey", "journal", "watcher/beneath"}, plumbing...),
		why: "a forwarding lane knows its destination through forward.Forwarder, never a client or another lane"},
	{under: "archive/disposal", may: append([]string{"archive/gate", "archive/stage", "archive/ondisk", "journal", "watcher/beneath"}, plumbing...),
		why: "disposal needs the disk and the journal, never a client"},
	{under: "archive/upload", may: append([]string{"archive/gate", "archive/stage", "archive/ondisk", "archive/filekey", "journal", "watcher/beneath"}, plumbing...),
		why: "the upload lane sends through a function it is given, never a client it imports"},
	{under: "archive/posting", may: append([]string{"archive/events", "archive/gate", "archive/stage", "archive/ondisk", "archive/filekey", "archive/globalrelay", "archive/transcript", "archive/identity", "journal", "watcher/beneath"}, plumbing...),
		why: "the poster sends through a function it is given (it uses globalrelay's request types only), never another lane"},
	{under: "archive/ondisk", may: []string{"journal", "watcher/beneath"}, why: "ondisk only compares files on disk with their records"},
	{under: "archive/reconcile", may: []string{"archive/ondisk", "journal", "watcher/beneath"},
		why: "reconciliation is a function over the journal and the watches: no pipeline, no client"},
	{under: "archive/testwait", why: "test support imports no project package"},
}

func TestLayering(t *testing.T) {
	deps := goListDeps(t)
	for pkg, ds := range deps {
		for _, d := range ds {
			if within(d, "archive/testwait") {
				t.Errorf("%s imports %s: only tests may use test support", pkg, d)
			}
			if strings.HasPrefix(d, "archive/sandbox") && !strings.HasPrefix(pkg, "cmd/") && !strings.HasPrefix(pkg, "archive/sandbox") {
				t.Errorf("%s imports %s: only cmd/ may use the sandbox", pkg, d)
			}
		}
		for _, r := range layerRules {
			if !within(pkg, r.under) {
				continue
			}
			for _, d := range ds {
				if within(d, r.under) || allowed(d, r.may) {
					continue
				}
				t.Errorf("%s depends on %s: %s", pkg, d, r.why)
			}
		}
	}
}

func within(pkg, folder string) bool { return pkg == folder || strings.HasPrefix(pkg, folder+"/") }

func allowed(pkg string, folders []string) bool {
	for _, f := range folders {
		if within(pkg, f) {
			return true
		}
	}
	return false
}

// goListDeps maps each project package (relative to the module) to the project packages it
// depends on, directly or not.
func goListDeps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := make(map[string][]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		deps[pkg] = nil
		for _, d := range fields[1:] {
			if rel, ok := strings.CutPrefix(d, module); ok {
				deps[pkg] = append(deps[pkg], rel)
			}
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages", len(deps))
	}
	return deps
}
