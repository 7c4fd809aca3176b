package report

import (
	"fmt"
	"sort"
	"strings"
)

// Severity tells whether an entry stops a build.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Pos is a 1-based line and column in the input file; zero means unknown.
type Pos struct {
	Line, Col int
}

// Entry is one diagnostic about one field.
type Entry struct {
	Severity Severity
	File     string // another file the input refers to (e.g. a Butane snippet); empty: the report's file
	Pos      Pos
	Path     string // field path in the input, e.g. nodes.2.ip
	Message  string // what is wrong, with the offending value
	Hint     string // how to fix it
}

// Report is every diagnostic about one file (and the files it refers to), in file order.
type Report struct {
	File    string
	Entries []Entry
}

// Add appends an entry.
func (r *Report) Add(e Entry) { r.Entries = append(r.Entries, e) }

// Errorf adds an error at pos for path with a fix hint.
func (r *Report) Errorf(pos Pos, path, hint, format string, args ...any) {
	r.Add(Entry{Severity: Error, Pos: pos, Path: path, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// Warnf adds a warning at pos for path with a hint.
func (r *Report) Warnf(pos Pos, path, hint, format string, args ...any) {
	r.Add(Entry{Severity: Warning, Pos: pos, Path: path, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// HasErrors reports whether any entry is an error.
func (r Report) HasErrors() bool {
	for _, e := range r.Entries {
		if e.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns the number of errors and warnings.
func (r Report) Count() (errors, warnings int) {
	for _, e := range r.Entries {
		if e.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// Summary counts errors and warnings per file, the report's own first: "topology.yaml: 1
// error(s), 0 warning(s); snippets/a.bu: 2 error(s), 0 warning(s)". A problem in a file the input
// refers to is also reported at the reference; counted per file, neither is counted twice.
func (r Report) Summary() string {
	files := []string{r.File}
	counts := map[string]*[2]int{r.File: {}}
	for _, e := range r.Entries {
		f := r.File
		if e.File != "" {
			f = e.File
		}
		if counts[f] == nil {
			files = append(files, f)
			counts[f] = &[2]int{}
		}
		if e.Severity == Error {
			counts[f][0]++
		} else {
			counts[f][1]++
		}
	}
	parts := make([]string, len(files))
	for i, f := range files {
		parts[i] = fmt.Sprintf("%s: %d error(s), %d warning(s)", f, counts[f][0], counts[f][1])
	}
	return strings.Join(parts, "; ")
}

// Sort orders entries by position, then path, so output is stable and reads top to bottom: the
// report's own file first, then each file it refers to.
func (r *Report) Sort() {
	sort.SliceStable(r.Entries, func(i, j int) bool {
		a, b := r.Entries[i], r.Entries[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Path < b.Path
	})
}

// Format renders one entry as FILE:LINE:COL: SEVERITY: MESSAGE; HINT (PATH).
func (r Report) Format(e Entry) string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString(r.File)
	}
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Col)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Severity, e.Message)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, " (%s)", e.Path)
	}
	return b.String()
}

// String renders every entry, one per line.
func (r Report) String() string {
	var b strings.Builder
	for _, e := range r.Entries {
		b.WriteString(r.Format(e))
		b.WriteByte('\n')
	}
	return b.String()
}

// Invalid makes a report with errors usable as an error value.
type Invalid struct{ Report Report }

func (e *Invalid) Error() string {
	n, _ := e.Report.Count()
	return fmt.Sprintf("%s: %d error(s)\n%s", e.Report.File, n, strings.TrimRight(e.Report.String(), "\n"))
}
