package topology

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ignigen/ignigen/internal/report"
)

// syntaxError turns yaml.v3's syntax error about data into where it is (1-based), a message and a hint.
func syntaxError(data []byte, err error) (pos report.Pos, msg, hint string) {
	msg, hint = yamlErrorText(err)
	tab := strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token")
	pos, atTab := syntaxPos(data, yamlErrorLine(err), tab)
	if atTab {
		hint = yamlTabHint
	}
	return pos, msg, hint
}

// syntaxPos finds where a YAML syntax error is. yaml.v3 names only a line, and not reliably: for
// parser errors the (0-based) line where the enclosing construct began, for an unclosed quote the
// end of the file. The error is just past the longest prefix of the file that still parses: first
// the longest prefix of whole lines, then the longest prefix of the next line (with its open
// brackets closed, so that "[1, x" is fine up to where it goes wrong). reported is yaml.v3's line:
// prefixes that reach past it are taken to fail, which keeps this to a few parses on large files.
//
// With tab set (the error may be about a tab), a tab in the line's indentation is the position,
// and atTab says so.
func syntaxPos(data []byte, reported int, tab bool) (pos report.Pos, atTab bool) {
	return locateSyntax(data, reported, tab, parsesYAML)
}

// parsesYAML reports whether b is well-formed YAML.
func parsesYAML(b []byte) bool {
	var n yaml.Node
	return yaml.Unmarshal(b, &n) == nil
}

// locateSyntax is syntaxPos with its YAML check passed in, so tests can count the parses.
func locateSyntax(data []byte, reported int, tab bool, parses func([]byte) bool) (pos report.Pos, atTab bool) {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			starts = append(starts, i+1)
		}
	}
	starts = append(starts, len(data))
	lines := len(starts) - 1
	good := goodLines(data, starts, min(reported+1, lines-1), parses) // the first good lines parse
	base, line := data[:starts[good]], data[starts[good]:starts[good+1]]
	line = bytes.TrimRight(line, "\r\n")
	indent := len(line) - len(bytes.TrimLeft(line, " \t"))
	if i := bytes.IndexByte(line[:indent], '\t'); tab && i >= 0 {
		return report.Pos{Line: good + 1, Col: i + 1}, true
	}
	_, _, comment := openFlow(line)
	line = bytes.TrimRight(line[:comment], " \t")
	col := goodPrefix(base, line, parses)
	if c := bytes.LastIndex(line[:col], []byte(": ")); col < len(line) && line[col] == ':' && c < 0 {
		// A key where a value's continuation was expected (mapping values are not allowed here):
		// the key is misplaced, not its colon.
		col = len(line) - len(bytes.TrimLeft(line, " "))
	}
	if col == len(line) {
		// The line is fine once its brackets are closed: point at the bracket left open.
		if _, open, _ := openFlow(line); open >= 0 {
			col = open
		}
	}
	return report.Pos{Line: good + 1, Col: utf8.RuneCount(line[:col]) + 1}, false
}

// goodLines returns the largest n <= last such that the first n lines (ending at starts[n]) parse,
// 0 if none do. Like goodPrefix it tries each n down from last only for up to maxScan lines, and
// binary-searches beyond, since each try parses the file up to there.
func goodLines(data []byte, starts []int, last int, parses func([]byte) bool) int {
	if last <= maxScan {
		for n := last; n > 0; n-- {
			if parses(data[:starts[n]]) {
				return n
			}
		}
		return 0
	}
	if parses(data[:starts[last]]) {
		return last
	}
	// The first n in 1..last-1 whose prefix fails; the one before it is good.
	i := sort.Search(last-1, func(i int) bool { return !parses(data[:starts[i+1]]) })
	return i
}

// maxScan is the longest line whose every prefix goodPrefix tries. Each try re-parses the file
// up to the line, so a longer line (a long flow list) is binary-searched instead.
const maxScan = 256

// goodPrefix returns the length of the longest prefix of line (a rune boundary) that parses after
// base, with its open brackets closed; 0 if none does.
func goodPrefix(base, line []byte, parses func([]byte) bool) int {
	buf := append([]byte{}, base...)
	try := func(c int) bool {
		closer, _, _ := openFlow(line[:c])
		return parses(append(append(buf[:len(base)], line[:c]...), closer...))
	}
	if len(line) == 0 || try(len(line)) {
		return len(line)
	}
	cuts := runeCuts(line)
	if len(line) <= maxScan {
		// Not every prefix past a good one is bad (a closed quote parses again): the last good wins.
		col := 0
		for _, c := range cuts {
			if try(c) {
				col = c
			}
		}
		return col
	}
	// The first bad prefix after a good one: O(log n) parses, the same answer when the prefixes
	// go from good to bad once, which is the common case.
	i := sort.Search(len(cuts), func(i int) bool { return !try(cuts[i]) })
	if i == 0 {
		return 0
	}
	return cuts[i-1]
}

// runeCuts lists the prefix lengths of line that end on a rune boundary, excluding 0 and len(line).
func runeCuts(line []byte) []int {
	var cuts []int
	for c := 1; c < len(line); c++ {
		if utf8.RuneStart(line[c]) {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// openFlow returns what closes the flow brackets still open at the end of s (a line, read
// roughly as YAML: quotes and comments skipped), the offset of the innermost one (-1: none), and
// where a comment starts (len(s): none).
func openFlow(s []byte) (closer []byte, innermost, comment int) {
	var stack []int
	var quote byte
	comment = len(s)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			switch {
			case quote == '"' && ch == '\\':
				i++
			case ch == quote:
				quote = 0
			}
			continue
		}
		start := i == 0 || bytes.IndexByte([]byte(" \t[{,:"), s[i-1]) >= 0
		switch {
		case ch == '#' && start:
			comment, i = i, len(s)
		case (ch == '"' || ch == '\'') && start:
			quote = ch
		case (ch == '[' || ch == '{') && (start || len(stack) > 0):
			stack = append(stack, i)
		case (ch == ']' || ch == '}') && len(stack) > 0 && s[stack[len(stack)-1]] == map[byte]byte{']': '[', '}': '{'}[ch]:
			stack = stack[:len(stack)-1]
		}
	}
	innermost = -1
	for j := len(stack) - 1; j >= 0; j-- {
		closer = append(closer, map[byte]byte{'[': ']', '{': '}'}[s[stack[j]]])
	}
	if len(stack) > 0 {
		innermost = stack[len(stack)-1]
	}
	return closer, innermost, comment
}

var yamlLinePrefixRE = regexp.MustCompile(`^line (\d+): `)

// yamlErrorLine returns the line yaml.v3 names in a syntax error, or a large number if none.
func yamlErrorLine(err error) int {
	m := yamlLinePrefixRE.FindStringSubmatch(strings.TrimPrefix(err.Error(), "yaml: "))
	if m == nil {
		return 1 << 30
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// yamlErrorText turns a yaml.v3 syntax error into a message (without its unreliable line) and a hint.
func yamlErrorText(err error) (msg, hint string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = yamlLinePrefixRE.ReplaceAllString(s, "")
	hint = "fix the YAML syntax here"
	for _, h := range yamlHints {
		if strings.Contains(s, h[0]) {
			hint = h[1]
			break
		}
	}
	return "invalid YAML: " + s, hint
}

const yamlTabHint = "indent with spaces: YAML forbids tabs in indentation"

var yamlHints = [][2]string{
	{"tab character", yamlTabHint},
	{"mapping values are not allowed", "line this key up with the keys above it, or quote a value that contains ': '"},
	{"did not find expected key", "line this up with the keys above it, or quote a value that starts with a special character"},
	{"did not find expected ',' or ']'", "close the list with ']' and separate its items with ','"},
	{"did not find expected ',' or '}'", "close the mapping with '}' and separate its fields with ','"},
	{"did not find expected '-' indicator", "line the list items up under each other, each starting with '- '"},
	{"found unexpected end of stream", "close the quote or bracket opened here"},
	{"found character that cannot start any token", "quote the value: it starts with a character YAML reserves, such as @ or `"},
	{"could not find expected ':'", "write `key: value`, with a space after the colon"},
	{"did not find expected node content", "give a value here, quoted if it starts with a special character"},
}
