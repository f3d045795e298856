// Package report is the JSON report both programs print on stdout.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"kube-kmip.invalid/interop-go/internal/wiretap"
)

// Check is one assertion made inside the Go program (on data the TS side never sees: plaintexts,
// key material, locally computed ciphertexts).
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

type Step struct {
	Name string `json:"name"`
	// The version forced on the connection (EnforceVersion), empty when negotiated.
	ForcedVersion string `json:"forced_version,omitempty"`
	// Informational steps record behaviour without being part of the pass criteria.
	Informational bool `json:"informational,omitempty"`
	OK            bool `json:"ok"`
	// The first error: a failed KMIP call (with the server's result) or a failed check.
	Error     string              `json:"error,omitempty"`
	Exchanges []*wiretap.Exchange `json:"exchanges"`
	Checks    []Check             `json:"checks"`
	Details   map[string]any      `json:"details"`
}

type Report struct {
	Program string             `json:"program"`
	Go      string             `json:"go"`
	Modules map[string]string  `json:"modules"`
	Server  string             `json:"server"`
	Proxy   string             `json:"proxy,omitempty"`
	OK      bool               `json:"ok"`
	Keys    map[string]string  `json:"keys,omitempty"`
	Steps   []*Step            `json:"steps"`
	Conns   []wiretap.ConnInfo `json:"connections,omitempty"`
}

func New(program, server string) *Report {
	r := &Report{Program: program, Go: runtime.Version(), Modules: map[string]string{}, Server: server, Keys: map[string]string{}}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if strings.Contains(d.Path, "kmip") || strings.Contains(d.Path, "go-kms-wrapping") {
				v := d.Version
				if d.Replace != nil {
					v += " => " + d.Replace.Path + "@" + d.Replace.Version
				}
				r.Modules[d.Path] = v
			}
		}
	}
	return r
}

// Begin starts a step; the returned step is already part of the report.
func (r *Report) Begin(name string) *Step {
	s := &Step{Name: name, OK: true, Checks: []Check{}, Details: map[string]any{}}
	r.Steps = append(r.Steps, s)
	return s
}

// Fail records an error (the first one wins) and marks the step failed.
func (s *Step) Fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.Error == "" {
		s.Error = msg
	}
	s.OK = false
}

// Check records an assertion; a false one fails the step.
func (s *Step) Check(name string, ok bool, format string, args ...any) bool {
	detail := fmt.Sprintf(format, args...)
	s.Checks = append(s.Checks, Check{Name: name, OK: ok, Detail: detail})
	if !ok {
		s.Fail("check %s failed: %s", name, detail)
	}
	return ok
}

// Finish computes the overall result and prints the report as JSON on stdout.
func (r *Report) Finish() int {
	r.OK = true
	for _, s := range r.Steps {
		if s.Exchanges == nil {
			s.Exchanges = []*wiretap.Exchange{}
		}
		if !s.OK && !s.Informational {
			r.OK = false
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "cannot encode the report:", err)
		return 2
	}
	if !r.OK {
		return 1
	}
	return 0
}
