// Command report reads the JUnit files of a conformance run (conformance/run.sh)
// and writes docs/CONFORMANCE.md: what ran, the totals of the [Conformance]
// specs, a table by area, every failure with the first line of its message grouped
// by cause, and every spec that did not run with the reason. It prints the plain
// line "N passed, N failed".
//
//	go run ./report -results build/conformance/results/latest -out docs/CONFORMANCE.md
//
// The results directory holds run.env (key=value lines), catalog/junit_01.xml (a
// dry run listing every [Conformance] spec of the binary) and one directory per
// phase (serial/, parallel/) with the junit_01.xml e2e.test wrote.
package main

import (
	"bufio"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// JUnit as Ginkgo v2 writes it (reporters.JUnitTestSuites).
type junitSuites struct {
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name    string        `xml:"name,attr"`
	Status  string        `xml:"status,attr"`
	Time    float64       `xml:"time,attr"`
	Skipped *junitMessage `xml:"skipped"`
	Failure *junitMessage `xml:"failure"`
	Error   *junitMessage `xml:"error"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// Outcome of one spec in a run.
type Outcome int

const (
	NotRun  Outcome = iota // filtered out, or never reached
	Passed                 // passed
	Failed                 // failed, timed out, panicked, aborted, interrupted
	Skipped                // started and skipped itself (e2eskipper)
)

type Spec struct {
	Name    string // full text without the "[It] " prefix
	Area    string
	Outcome Outcome
	Phase   string
	Seconds float64
	Reason  string // first line of the failure, or why it did not run
}

// Areas in the order the report lists them.
var Areas = []string{"api-machinery", "apps", "architecture", "auth", "cli", "instrumentation",
	"network", "node", "scheduling", "storage"}

var sigRE = regexp.MustCompile(`^\[sig-([a-z-]+)\]`)

func areaOf(name string) string {
	if m := sigRE.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return "other"
}

func specName(junitName string) (string, bool) {
	if !strings.HasPrefix(junitName, "[It] ") {
		return "", false // suite nodes: [SynchronizedBeforeSuite], [ReportAfterSuite], ...
	}
	return strings.TrimPrefix(junitName, "[It] "), true
}

// Phase is one phase's JUnit: its cases, the specs its focus and filters selected
// (from a dry run with the same flags, when there is one) and why Ginkgo ended the
// suite early, if it did (its SpecialSuiteFailureReason property).
type Phase struct {
	Cases    []junitCase
	Selected map[string]bool // nil: unknown
	Ended    string
}

func readJUnit(path string) ([]junitCase, error) {
	cases, _, err := readJUnitProps(path)
	return cases, err
}

func readJUnitProps(path string) ([]junitCase, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parseJUnitProps(f)
}

func parseJUnit(r io.Reader) ([]junitCase, error) {
	cases, _, err := parseJUnitProps(r)
	return cases, err
}

func parseJUnitProps(r io.Reader) ([]junitCase, map[string]string, error) {
	var s junitSuites
	if err := xml.NewDecoder(r).Decode(&s); err != nil {
		return nil, nil, err
	}
	var out []junitCase
	props := map[string]string{}
	for _, suite := range s.Suites {
		out = append(out, suite.Cases...)
		for _, p := range suite.Properties {
			props[p.Name] = p.Value
		}
	}
	return out, props, nil
}

// selectedBy lists the specs a dry run ran (the ones its filters selected).
func selectedBy(cases []junitCase) map[string]bool {
	sel := map[string]bool{}
	for _, c := range cases {
		if n, ok := specName(c.Name); ok && c.Status != "skipped" {
			sel[n] = true
		}
	}
	return sel
}

// firstLine is the first non-empty line of a failure, without Ginkgo's "[FAILED] ".
// A gomega matcher's message starts with a bare "Expected" (or a line ending in ":")
// and says what on the next lines, so up to three more lines are joined to it.
func firstLine(c junitCase) string {
	for _, m := range []*junitMessage{c.Failure, c.Error} {
		if m == nil {
			continue
		}
		for _, text := range []string{m.Message, m.Body} {
			var got []string
			for _, l := range strings.Split(text, "\n") {
				l = strings.TrimSpace(l)
				for _, p := range []string{"[FAILED]", "[TIMEDOUT]", "[PANICKED]", "[INTERRUPTED]", "[ABORTED]"} {
					l = strings.TrimSpace(strings.TrimPrefix(l, p))
				}
				if l == "" || strings.HasPrefix(l, "In [") {
					if len(got) > 0 {
						break
					}
					continue
				}
				got = append(got, l)
				first := got[0]
				if first != "Expected" && !strings.HasSuffix(first, ":") || len(got) == 4 {
					break
				}
			}
			if len(got) > 0 {
				return strings.Join(got, " ")
			}
		}
		if m.Type != "" {
			return m.Type
		}
	}
	return c.Status
}

func outcomeOf(status string) Outcome {
	switch status {
	case "passed":
		return Passed
	case "skipped":
		return Skipped
	case "pending":
		return NotRun
	default: // failed, timedout, panicked, aborted, interrupted
		return Failed
	}
}

// SuiteFailure is a failed suite node ([SynchronizedBeforeSuite], ...) of a phase.
type SuiteFailure struct {
	Phase, Node, Line string
}

// Merge builds one Spec per catalog entry from the phases' results. A spec runs in
// at most one phase (the other filters it out), so a real result wins over a skip.
func Merge(catalog []string, phases map[string]Phase, focus string) ([]Spec, []SuiteFailure) {
	specs := make([]Spec, 0, len(catalog))
	index := map[string]int{}
	for _, n := range catalog {
		if _, dup := index[n]; dup {
			continue
		}
		index[n] = len(specs)
		specs = append(specs, Spec{Name: n, Area: areaOf(n), Outcome: NotRun})
	}
	var suiteFails []SuiteFailure
	names := make([]string, 0, len(phases))
	for p := range phases {
		names = append(names, p)
	}
	sort.Strings(names)
	setupFailed := map[string]string{}
	for _, p := range names {
		for _, c := range phases[p].Cases {
			if _, ok := specName(c.Name); !ok && outcomeOf(c.Status) == Failed {
				suiteFails = append(suiteFails, SuiteFailure{p, c.Name, firstLine(c)})
				if strings.Contains(c.Name, "BeforeSuite") {
					setupFailed[p] = firstLine(c)
				}
			}
		}
	}
	for _, p := range names {
		for _, c := range phases[p].Cases {
			n, ok := specName(c.Name)
			if !ok {
				continue
			}
			i, known := index[n]
			if !known {
				continue // not a [Conformance] spec
			}
			s := &specs[i]
			o := outcomeOf(c.Status)
			msg := ""
			if c.Skipped != nil {
				msg = c.Skipped.Message
			}
			switch {
			case o == Skipped && (msg == "skipped" || msg == ""):
				// Filtered out of this phase: a result from another phase wins.
				// Ginkgo reports filtered specs and the ones an early end left out
				// the same way; the phase's dry run tells them apart. Without one,
				// run.sh's split ([Serial] specs in the serial phase) is the guess.
				ph := phases[p]
				mine := p == phaseOf(n)
				if ph.Selected != nil {
					mine = ph.Selected[n]
				}
				if why, bad := setupFailed[p]; bad && s.Outcome == NotRun && mine {
					s.Reason = "suite setup failed in the " + p + " phase: " + why
				} else if s.Outcome == NotRun && mine && ph.Selected != nil {
					s.Reason = "not reached: the " + p + " phase ended before it"
					if ph.Ended != "" {
						s.Reason += " (" + ph.Ended + ")"
					}
				} else if s.Outcome == NotRun && s.Reason == "" {
					s.Reason = "not selected (FOCUS=" + focus + ")"
				}
			case o == Skipped && strings.Contains(msg, "interrupted"):
				if s.Outcome == NotRun {
					s.Reason = "not reached: " + strings.TrimPrefix(msg, "skipped - ")
				}
			case o == Skipped:
				*s = Spec{Name: n, Area: s.Area, Outcome: Skipped, Phase: p, Seconds: c.Time,
					Reason: firstSkipLine(msg)}
			case o == NotRun:
				if s.Outcome == NotRun {
					s.Reason = c.Status
				}
			default:
				reason := ""
				if o == Failed {
					reason = firstLine(c)
					if c.Status != "failed" {
						reason = "[" + c.Status + "] " + reason
					}
				}
				*s = Spec{Name: n, Area: s.Area, Outcome: o, Phase: p, Seconds: c.Time, Reason: reason}
			}
		}
	}
	for i := range specs {
		if specs[i].Outcome == NotRun && specs[i].Reason == "" {
			specs[i].Reason = "no result: no phase of this run reported it"
		}
	}
	return specs, suiteFails
}

func phaseOf(name string) string {
	if strings.Contains(name, "[Serial]") {
		return "serial"
	}
	return "parallel"
}

func firstSkipLine(msg string) string {
	msg = strings.TrimPrefix(msg, "skipped - ")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

var (
	uidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	nameRE = regexp.MustCompile(`\b[a-z0-9]+(?:-[a-z0-9]+)*-[0-9]{3,5}\b`) // e2e namespaces: webhook-1234
	rndRE  = regexp.MustCompile(`-[bcdfghjklmnpqrstvwxz2456789]{5}\b`)     // generateName suffixes
	numRE  = regexp.MustCompile(`\b[0-9]+(?:\.[0-9]+)*(?:ms|s|m|h)?\b`)    // numbers, not the 8 of k8s.io
)

// Cause is a failure line with the names and numbers of one test taken out, so
// that the same server bug met by different tests groups together.
func Cause(line string) string {
	c := uidRE.ReplaceAllString(line, "<uid>")
	c = nameRE.ReplaceAllString(c, "<ns>")
	c = rndRE.ReplaceAllString(c, "-<x>")
	c = numRE.ReplaceAllString(c, "<n>")
	if len(c) > 240 {
		c = c[:240] + "…"
	}
	return c
}

type Totals struct{ Total, Passed, Failed, Skipped, NotRun int }

func count(specs []Spec, area string) Totals {
	var t Totals
	for _, s := range specs {
		if area != "" && s.Area != area {
			continue
		}
		t.Total++
		switch s.Outcome {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
		case Skipped:
			t.Skipped++
		default:
			t.NotRun++
		}
	}
	return t
}

func readEnv(path string) map[string]string {
	env := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return env
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

func md(s string) string { // a table cell
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Write renders the report.
func Write(w io.Writer, env map[string]string, specs []Spec, suiteFails []SuiteFailure, note string) {
	get := func(k string) string {
		if v := env[k]; v != "" {
			return v
		}
		return "?"
	}
	all := count(specs, "")
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Conformance\n\n")
	p("Generated by `conformance/report` from the JUnit files of one run of the upstream\n")
	p("conformance suite against vkube (`make conformance`). Every [Conformance] spec of the\n")
	p("suite is counted below as passed, failed, skipped by the test itself, or not run.\n\n")
	if note != "" {
		p("%s\n\n", note)
	}
	p("| | |\n|---|---|\n")
	p("| date | %s |\n", get("date"))
	p("| vkube commit | %s |\n", get("commit"))
	p("| suite | k8s.io/kubernetes %s e2e.test |\n", get("suite"))
	p("| mode | %s |\n", get("mode"))
	p("| content type | %s |\n", get("content_type"))
	p("| focus | `%s` |\n", md(get("focus")))
	if env["skip"] != "" {
		p("| skip | `%s` |\n", md(env["skip"]))
	}
	p("| parallel processes | %s |\n", get("procs"))
	for _, ph := range strings.Fields(env["phases"]) {
		p("| %s phase | %s s, exit %s |\n", ph, get(ph+"_seconds"), get(ph+"_exit"))
	}
	p("| command | `%s` |\n\n", md(get("command")))

	p("## Totals\n\n")
	p("**%d passed, %d failed, %d skipped, %d not run** of the %d [Conformance] specs in this e2e.test.\n\n",
		all.Passed, all.Failed, all.Skipped, all.NotRun, all.Total)
	if len(suiteFails) > 0 {
		p("### Suite setup and teardown failures\n\n")
		for _, f := range suiteFails {
			p("- %s phase, `%s`: %s\n", f.Phase, f.Node, f.Line)
		}
		p("\n")
	}

	p("## By area\n\n| area | specs | passed | failed | skipped | not run |\n|---|---:|---:|---:|---:|---:|\n")
	areas := append([]string{}, Areas...)
	seen := map[string]bool{}
	for _, a := range Areas {
		seen[a] = true
	}
	for _, s := range specs {
		if !seen[s.Area] {
			seen[s.Area] = true
			areas = append(areas, s.Area)
		}
	}
	for _, a := range areas {
		t := count(specs, a)
		if t.Total == 0 {
			continue
		}
		p("| %s | %d | %d | %d | %d | %d |\n", a, t.Total, t.Passed, t.Failed, t.Skipped, t.NotRun)
	}
	p("| **total** | %d | %d | %d | %d | %d |\n\n", all.Total, all.Passed, all.Failed, all.Skipped, all.NotRun)

	p("## Failures by cause\n\n")
	type group struct {
		cause string
		specs []Spec
	}
	groups := map[string]*group{}
	for _, s := range specs {
		if s.Outcome != Failed {
			continue
		}
		c := Cause(s.Reason)
		if groups[c] == nil {
			groups[c] = &group{cause: c}
		}
		groups[c].specs = append(groups[c].specs, s)
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		if len(list[i].specs) != len(list[j].specs) {
			return len(list[i].specs) > len(list[j].specs)
		}
		return list[i].cause < list[j].cause
	})
	if len(list) == 0 {
		p("None.\n\n")
	}
	for i, g := range list {
		p("### %d. %d × %s\n\n", i+1, len(g.specs), "`"+strings.ReplaceAll(g.cause, "`", "'")+"`")
		for _, s := range g.specs {
			p("- %s  \n  %s\n", s.Name, "`"+strings.ReplaceAll(s.Reason, "`", "'")+"`")
		}
		p("\n")
	}

	section := func(title string, o Outcome) {
		p("## %s\n\n", title)
		n := 0
		for _, s := range specs {
			if s.Outcome != o {
				continue
			}
			n++
			if o == Passed {
				p("- %s (%.0f s)\n", s.Name, s.Seconds)
			} else {
				p("- %s: %s\n", s.Name, s.Reason)
			}
		}
		if n == 0 {
			p("None.\n")
		}
		p("\n")
	}
	section("Skipped by the test itself", Skipped)
	// Not run: grouped by reason, since a partial run leaves most out for one reason.
	p("## Not run\n\n")
	byReason := map[string][]string{}
	var reasons []string
	for _, s := range specs {
		if s.Outcome != NotRun {
			continue
		}
		if byReason[s.Reason] == nil {
			reasons = append(reasons, s.Reason)
		}
		byReason[s.Reason] = append(byReason[s.Reason], s.Name)
	}
	if len(reasons) == 0 {
		p("None.\n\n")
	}
	for _, r := range reasons {
		p("### %d × %s\n\n", len(byReason[r]), r)
		for _, n := range byReason[r] {
			p("- %s\n", n)
		}
		p("\n")
	}
	section("Passed", Passed)
}

func main() {
	results := flag.String("results", "build/conformance/results/latest", "results directory of conformance/run.sh")
	out := flag.String("out", "docs/CONFORMANCE.md", "report to write (- for stdout)")
	note := flag.String("note", "", "a paragraph to put under the title (e.g. that the run was partial)")
	flag.Parse()
	if err := run(*results, *out, *note); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(results, out, note string) error {
	env := readEnv(filepath.Join(results, "run.env"))
	cat, err := readJUnit(filepath.Join(results, "catalog", "junit_01.xml"))
	if err != nil {
		return fmt.Errorf("the catalog (dry run) of [Conformance] specs: %w", err)
	}
	var catalog []string
	for _, c := range cat {
		// The dry run reports the focused specs as passed and the rest as skipped.
		if n, ok := specName(c.Name); ok && c.Status != "skipped" && strings.Contains(n, "[Conformance]") {
			catalog = append(catalog, n)
		}
	}
	if len(catalog) == 0 {
		return fmt.Errorf("the catalog lists no [Conformance] spec")
	}
	phases := map[string]Phase{}
	for _, ph := range strings.Fields(env["phases"]) {
		cases, props, err := readJUnitProps(filepath.Join(results, ph, "junit_01.xml"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "report: %s phase: %v (its specs count as not run)\n", ph, err)
			continue
		}
		phase := Phase{Cases: cases, Ended: props["SpecialSuiteFailureReason"]}
		if sel, err := readJUnit(filepath.Join(results, ph, "selected", "junit_01.xml")); err == nil {
			phase.Selected = selectedBy(sel)
		}
		phases[ph] = phase
	}
	specs, suiteFails := Merge(catalog, phases, env["focus"])
	w := io.Writer(os.Stdout)
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	Write(w, env, specs, suiteFails, note)
	t := count(specs, "")
	fmt.Printf("%d passed, %d failed\n", t.Passed, t.Failed)
	return nil
}
