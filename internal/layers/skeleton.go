package layers

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	cjson "github.com/clarketm/json"
	baseutil "github.com/coreos/ignition/v2/butane/base/util"
	"github.com/coreos/ignition/v2/config/v3_4/types"
	"github.com/coreos/ignition/v2/config/validate"
	"github.com/vincent-petithory/dataurl"

	"github.com/ignigen/ignigen/internal/model"
)

// A skeleton is the flattened config of a stack rendered with placeholders for a node's name,
// address and MAC. Workers differ only in those, so translating and merging once per shape and
// filling the values into each copy saves Butane, merge and validation per node (most of a
// worker's time). It is only used where the result is provably the same bytes:
//
//   - Text: the node's real stack must be exactly its placeholder stack with the placeholders
//     replaced (checked per node), so any other use of the values in templates (a comparison,
//     a computed address, a peer list) makes the node take the ordinary way.
//   - Translation: the values are in a class YAML, Butane and Ignition pass through as plain
//     characters (lower-case letters, digits, '-', '.', ':'; never YAML's null); placeholders are in
//     the same class. They may land only in file contents (a data URL, re-encoded per node with
//     Butane's own encoder) and unit or drop-in contents (copied verbatim); a placeholder anywhere
//     else (a path, a unit name: merge keys) leaves the shape to the ordinary way.
//   - Validation: the placeholder config passed the whole-config check; per node, the filled
//     files and units are validated again, and path and name checks do not see the values.
//   - The first node filled into a skeleton is also compiled the ordinary way and compared byte
//     for byte; a difference leaves the shape to the ordinary way.
type skeleton struct {
	cfg     types.Config
	files   []int    // files whose data URL contents hold a placeholder
	texts   []string // their decoded contents
	units   []int    // units whose contents hold one
	dropins [][2]int // unit, drop-in

	// The skeleton's JSON cut at the strings a node fills in: segs[0], slot order[0]'s string,
	// segs[1], ... Slots are numbered files, then units, then drop-ins. nil: marshal each node.
	segs  [][]byte
	order []int
}

// shape is the build's record of one placeholder stack: a skeleton once a third node has it.
type shape struct {
	seen atomic.Int32 // nodes of this shape so far
	once sync.Once
	sk   *skeleton // nil: the shape's nodes are compiled the ordinary way
}

// placeholder stands for every node in a skeleton (TEST-NET-1 address, locally administered MAC).
var placeholder = model.Node{Name: "ignigen-slot-7d1c0b9e", IP: netip.MustParseAddr("192.0.2.147"), MAC: "02:7d:1c:0b:9e:47"}

var (
	plainNameRE = regexp.MustCompile(`^[a-z0-9-]*[a-z][a-z0-9-]*$`)
	plainMACRE  = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
)

// plain reports whether n's values are in the class that passes through translation unchanged.
func plain(n model.Node) bool {
	switch n.Name {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false // YAML words; a plain scalar of them might not stay a string
	}
	return plainNameRE.MatchString(n.Name) && n.IP.Is4() && (n.MAC == "" || plainMACRE.MatchString(n.MAC))
}

// fromSkeleton gives n's config from its shape's skeleton, or ok false to compile it the ordinary
// way. srcs is n's rendered stack.
func (c *Compiler) fromSkeleton(n model.Node, v *View, stack []stackEntry, srcs [][]byte) (out []byte, ok bool) {
	// Building a skeleton costs about two ordinary nodes: stacks of fewer than three are not worth it.
	if c.ordinary || !plain(n) || c.stacks[c.stackKey(n)] < 3 {
		return nil, false
	}
	pv := *v
	pv.Node.Name, pv.Node.IP = placeholder.Name, placeholder.IP
	pairs := []string{placeholder.Name, n.Name, placeholder.IP.String(), n.IP.String()}
	if n.MAC != "" {
		pv.Node.MAC = placeholder.MAC
		pairs = append(pairs, placeholder.MAC, n.MAC)
	}
	psrcs, err := c.placeholderRender(c.stackKey(n), stack, &pv)
	if err != nil {
		return nil, false
	}
	fill := strings.NewReplacer(pairs...)
	h := sha256.New()
	for i := range srcs {
		if fill.Replace(string(psrcs[i])) != string(srcs[i]) {
			return nil, false
		}
		sum := sha256.Sum256(psrcs[i])
		h.Write(sum[:])
	}
	e, _ := c.shapes.LoadOrStore(string(h.Sum(nil)), &shape{})
	sh := e.(*shape)
	if sh.seen.Add(1) < 3 {
		return nil, false
	}
	first := false
	sh.once.Do(func() {
		first = true
		sh.sk, out = c.newSkeleton(stack, psrcs, srcs, fill)
	})
	if first || sh.sk == nil {
		return out, out != nil
	}
	out, err = sh.sk.fill(fill)
	return out, err == nil
}

// placeholderRender is render(stack, pv), remembered: a template is a function of its view
// (include, indent and quote read nothing else), so nodes with the same stack whose placeholder
// views are deeply equal (workers differing only in name, address and MAC) render the same text,
// and the per-node cost of the placeholder stack is one comparison instead of a second render.
func (c *Compiler) placeholderRender(key string, stack []stackEntry, pv *View) ([][]byte, error) {
	c.renderMu.Lock()
	for _, r := range c.renders[key] {
		if reflect.DeepEqual(r.view, pv) {
			c.renderMu.Unlock()
			return r.srcs, nil
		}
	}
	c.renderMu.Unlock()
	srcs, err := c.render(stack, pv)
	if err != nil {
		return nil, err
	}
	c.renderMu.Lock()
	defer c.renderMu.Unlock()
	if c.renders == nil {
		c.renders = map[string][]placeholderText{}
	}
	// A few views per stack: nodes whose views all differ (per-node settings) cost no more
	// than a few comparisons each.
	if len(c.renders[key]) < maxRendersPerStack {
		c.renders[key] = append(c.renders[key], placeholderText{view: pv, srcs: srcs})
	}
	return srcs, nil
}

// placeholderText is one remembered placeholder stack and the view it was rendered from.
type placeholderText struct {
	view *View
	srcs [][]byte
}

const maxRendersPerStack = 4

// newSkeleton flattens a placeholder stack, and checks it against the ordinary compilation of
// one real node (srcs); it returns nil if the shape cannot be a skeleton, and that node's config.
func (c *Compiler) newSkeleton(stack []stackEntry, psrcs, srcs [][]byte, fill *strings.Replacer) (*skeleton, []byte) {
	cfg, err := c.flatten(stack, srcs)
	if err != nil {
		return nil, nil
	}
	want, err := finish(cfg)
	if err != nil {
		return nil, nil
	}
	pcfg, err := c.flatten(stack, psrcs)
	if err != nil {
		return nil, want
	}
	if _, err := finish(pcfg); err != nil {
		return nil, want
	}
	sk := analyze(pcfg)
	if sk == nil {
		return nil, want
	}
	if got, err := sk.fillConfig(fill); err != nil || !bytes.Equal(got, want) {
		return nil, want
	}
	if sk.cut(); sk.segs != nil {
		if got, err := sk.fill(fill); err != nil || !bytes.Equal(got, want) {
			sk.segs = nil // both ways must give the ordinary bytes
		}
	}
	return sk, want
}

// analyze finds where the placeholders are in cfg, or returns nil if one is anywhere but file,
// unit and drop-in contents.
func analyze(cfg types.Config) *skeleton {
	sk := &skeleton{cfg: cfg}
	rest := cfg // cfg with the leaves found blanked, to search for placeholders left elsewhere
	rest.Storage.Files = slices.Clone(cfg.Storage.Files)
	for i, f := range cfg.Storage.Files {
		if f.Contents.Source == nil || !strings.HasPrefix(*f.Contents.Source, "data:") {
			continue
		}
		d, err := dataurl.DecodeString(*f.Contents.Source)
		if err != nil || !holdsPlaceholder(string(d.Data)) {
			continue
		}
		// Re-encoding must give Butane's own bytes, or the per-node data URLs would not.
		if src, _, err := baseutil.MakeDataURL(d.Data, nil, false); err != nil || src != *f.Contents.Source {
			return nil
		}
		sk.files, sk.texts = append(sk.files, i), append(sk.texts, string(d.Data))
		rest.Storage.Files[i].Contents.Source = nil
	}
	rest.Systemd.Units = slices.Clone(cfg.Systemd.Units)
	for i, u := range cfg.Systemd.Units {
		if u.Contents != nil && holdsPlaceholder(*u.Contents) {
			sk.units = append(sk.units, i)
			rest.Systemd.Units[i].Contents = nil
		}
		rest.Systemd.Units[i].Dropins = slices.Clone(u.Dropins)
		for j, d := range u.Dropins {
			if d.Contents != nil && holdsPlaceholder(*d.Contents) {
				sk.dropins = append(sk.dropins, [2]int{i, j})
				rest.Systemd.Units[i].Dropins[j].Contents = nil
			}
		}
	}
	if anyPlaceholder(reflect.ValueOf(rest)) {
		return nil
	}
	return sk
}

// cut prepares segs: the skeleton marshalled with a marker string in every slot, split at the
// markers. A node's bytes are then the segments joined by its own strings, each encoded as the
// marshaller encodes a string (indenting never changes a string's bytes). Without markers that
// each occur exactly once, segs stays nil and fill marshals the whole config.
func (sk *skeleton) cut() {
	cfg := sk.cfg
	var markers []string
	mark := func() *string {
		m := fmt.Sprintf("ignigen-slot-marker-7d1c0b9e-%d", len(markers))
		markers = append(markers, m)
		return &m
	}
	cfg.Storage.Files = slices.Clone(cfg.Storage.Files)
	for _, i := range sk.files {
		cfg.Storage.Files[i].Contents.Source = mark()
	}
	cfg.Systemd.Units = slices.Clone(cfg.Systemd.Units)
	for _, i := range sk.units {
		cfg.Systemd.Units[i].Contents = mark()
	}
	for _, d := range sk.dropins {
		u := &cfg.Systemd.Units[d[0]]
		u.Dropins = slices.Clone(u.Dropins)
		u.Dropins[d[1]].Contents = mark()
	}
	out, err := marshal(dropEmptyCompression(cfg))
	if err != nil {
		return
	}
	type at struct{ pos, slot int }
	var found []at
	for k, m := range markers {
		q := []byte(`"` + m + `"`)
		if bytes.Count(out, q) != 1 || bytes.Count(out, []byte(m)) != 1 {
			return
		}
		found = append(found, at{bytes.Index(out, q), k})
	}
	slices.SortFunc(found, func(a, b at) int { return a.pos - b.pos })
	prev := 0
	for _, f := range found {
		sk.segs = append(sk.segs, out[prev:f.pos])
		sk.order = append(sk.order, f.slot)
		prev = f.pos + len(markers[f.slot]) + 2
	}
	sk.segs = append(sk.segs, out[prev:])
}

// fill is the skeleton with one node's values: the same bytes finish gives for that node.
func (sk *skeleton) fill(r *strings.Replacer) ([]byte, error) {
	if sk.segs == nil {
		return sk.fillConfig(r)
	}
	slots := make([]string, 0, len(sk.files)+len(sk.units)+len(sk.dropins))
	for k, i := range sk.files {
		src, _, err := baseutil.MakeDataURL([]byte(r.Replace(sk.texts[k])), nil, false)
		if err != nil {
			return nil, err
		}
		f := sk.cfg.Storage.Files[i]
		f.Contents.Source = &src
		if err := valid(f); err != nil {
			return nil, err
		}
		slots = append(slots, src)
	}
	// Units as the whole-config check sees them: contents and drop-ins filled.
	filled := map[int]*types.Unit{}
	unit := func(i int) *types.Unit {
		if u, ok := filled[i]; ok {
			return u
		}
		u := sk.cfg.Systemd.Units[i]
		u.Dropins = slices.Clone(u.Dropins)
		filled[i] = &u
		return &u
	}
	for _, i := range sk.units {
		s := r.Replace(*sk.cfg.Systemd.Units[i].Contents)
		unit(i).Contents = &s
		slots = append(slots, s)
	}
	for _, d := range sk.dropins {
		s := r.Replace(*sk.cfg.Systemd.Units[d[0]].Dropins[d[1]].Contents)
		unit(d[0]).Dropins[d[1]].Contents = &s
		slots = append(slots, s)
	}
	for _, u := range filled {
		if err := valid(*u); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.Grow(sk.size(slots))
	for k, seg := range sk.segs {
		b.Write(seg)
		if k < len(sk.order) {
			q, err := cjson.Marshal(slots[sk.order[k]])
			if err != nil {
				return nil, err
			}
			b.Write(q)
		}
	}
	return b.Bytes(), nil
}

// size is about how long a node's bytes are, to allocate them once.
func (sk *skeleton) size(slots []string) int {
	n := 0
	for _, s := range sk.segs {
		n += len(s)
	}
	for _, s := range slots {
		n += len(s) + len(s)/8 + 2
	}
	return n
}

// fillConfig is fill by marshalling the whole filled config.
func (sk *skeleton) fillConfig(r *strings.Replacer) ([]byte, error) {
	cfg := sk.cfg
	cfg.Storage.Files = slices.Clone(cfg.Storage.Files)
	for k, i := range sk.files {
		f := &cfg.Storage.Files[i]
		src, _, err := baseutil.MakeDataURL([]byte(r.Replace(sk.texts[k])), nil, false)
		if err != nil {
			return nil, err
		}
		f.Contents.Source = &src
		if err := valid(*f); err != nil {
			return nil, err
		}
	}
	cfg.Systemd.Units = slices.Clone(cfg.Systemd.Units)
	for _, i := range sk.units {
		s := r.Replace(*cfg.Systemd.Units[i].Contents)
		cfg.Systemd.Units[i].Contents = &s
	}
	for k, d := range sk.dropins {
		u := &cfg.Systemd.Units[d[0]]
		if k == 0 || sk.dropins[k-1][0] != d[0] {
			u.Dropins = slices.Clone(u.Dropins) // once per unit: the skeleton's own stay untouched
		}
		s := r.Replace(*u.Dropins[d[1]].Contents)
		u.Dropins[d[1]].Contents = &s
	}
	for _, i := range sk.units {
		if err := valid(cfg.Systemd.Units[i]); err != nil {
			return nil, err
		}
	}
	for _, d := range sk.dropins {
		if err := valid(cfg.Systemd.Units[d[0]]); err != nil {
			return nil, err
		}
	}
	return marshal(dropEmptyCompression(cfg))
}

// valid is Ignition's validation of one filled file or unit, as the whole-config check runs it.
func valid(v any) error {
	if rep := validate.ValidateWithContext(v, nil); len(rep.Entries) > 0 {
		return errors.New(rep.String())
	}
	return nil
}

// holdsPlaceholder reports whether s has one of the placeholder's values in it.
func holdsPlaceholder(s string) bool {
	return strings.Contains(s, placeholder.Name) || strings.Contains(s, placeholder.IP.String()) || strings.Contains(s, placeholder.MAC)
}

// anyPlaceholder reports whether any string in v, or in a data URL's contents, holds a
// placeholder value; a data URL that does not decode counts as holding one.
func anyPlaceholder(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && anyPlaceholder(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if anyPlaceholder(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if anyPlaceholder(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if anyPlaceholder(it.Key()) || anyPlaceholder(it.Value()) {
				return true
			}
		}
	case reflect.String:
		s := v.String()
		if holdsPlaceholder(s) {
			return true
		}
		if strings.HasPrefix(s, "data:") {
			d, err := dataurl.DecodeString(s)
			return err != nil || holdsPlaceholder(string(d.Data))
		}
	}
	return false
}
