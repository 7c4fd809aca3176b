package topology

import "regexp"

// boundedRE is a pattern whose length bounds are checked apart from the expression: a counted
// repetition such as {0,127} makes Go's regexp compile that many copies of its class, a fifth of
// a millisecond at every start of ignigen. The classes are ASCII, so bytes count characters.
type boundedRE struct {
	re       *regexp.Regexp
	min, max int
}

func bounded(pattern string, min, max int) boundedRE {
	return boundedRE{re: regexp.MustCompile(pattern), min: min, max: max}
}

func (b boundedRE) MatchString(s string) bool {
	return len(s) >= b.min && len(s) <= b.max && b.re.MatchString(s)
}
