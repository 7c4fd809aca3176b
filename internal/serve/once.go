package serve

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ignigen/ignigen/internal/model"
)

// holdsCAKeys says whether n's config holds CA keys: the model's role answers.
func holdsCAKeys(n *node) bool { return model.Role(n.Role).Guarded() }

// deliverOnce claims n's config of build sn for this request, or writes the refusal itself. A
// claim is on disk before the first byte leaves, so a crash after sending cannot forget it.
func (s *Server) deliverOnce(w http.ResponseWriter, r *http.Request, sn *snapshot, n *node) bool {
	prev, err := s.ledger.claim(sn.build, n.Name, r.RemoteAddr, s.opts.Now())
	switch {
	case errors.Is(err, errStale):
		// 5xx: Ignition retries, and gets the new build's config.
		w.Header().Set("Retry-After", "1")
		textError(w, http.StatusServiceUnavailable, "ignigen: %v", err)
		return false
	case err != nil:
		// Fail closed: a delivery that cannot be recorded is not made.
		s.logf("one-time delivery: cannot record node %s's delivery to %s, not served: %v", n.Name, r.RemoteAddr, err)
		textError(w, http.StatusServiceUnavailable, "ignigen: cannot record this delivery; not served")
		return false
	case prev != nil:
		s.logf("WARNING: a second machine asked for control-plane node %s's config: client=%s; it went to client=%s at %s; refused with 410 (if this is %s being reinstalled: ignigen serve -o %s --rearm %s)",
			n.Name, r.RemoteAddr, prev.Client, prev.At.Format(time.RFC3339), n.Name, s.opts.Dir, n.Name)
		textError(w, http.StatusGone, "ignigen: node %s's config holds CA keys and was already delivered once for this build; ask the operator to re-arm it", n.Name)
		return false
	}
	s.logf("one-time delivery: node %s's config goes to client=%s; %s", n.Name, r.RemoteAddr, s.deliveryStatus(sn))
	return true
}

// Rearm lets each of names (control-plane nodes of the current build) be delivered once more,
// and says for each whether it had been delivered.
func (s *Server) Rearm(names []string) (string, error) {
	if s.ledger == nil {
		return "", errors.New("one-time delivery is off: there is nothing to re-arm")
	}
	sn := s.snap.Load()
	for _, name := range names {
		n := sn.byName[name]
		if n == nil {
			return "", fmt.Errorf("cluster %s has no node %q", sn.m.Cluster, name)
		}
		if !holdsCAKeys(n) {
			return "", fmt.Errorf("node %s is a worker: its config is served any number of times", name)
		}
	}
	was, err := s.ledger.rearm(sn.build, names)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, name := range names {
		if slices.Contains(was, name) {
			parts = append(parts, "re-armed "+name)
		} else {
			parts = append(parts, name+" had not been delivered")
		}
	}
	return strings.Join(parts, "; "), nil
}

// DeliveryStatus says which control-plane configs of the current build have been fetched.
func (s *Server) DeliveryStatus() string {
	if s.ledger == nil {
		return "one-time delivery is off: control-plane configs are served to their MAC any number of times"
	}
	return s.deliveryStatus(s.snap.Load())
}

func (s *Server) deliveryStatus(sn *snapshot) string {
	d, err := s.ledger.delivered(sn.build)
	if err != nil {
		return err.Error()
	}
	var got, waiting []string
	for _, ns := range sn.m.Nodes {
		if !model.Role(ns.Role).Guarded() {
			continue
		}
		if p, ok := d[ns.Name]; ok {
			got = append(got, fmt.Sprintf("%s (client=%s at %s)", ns.Name, p.Client, p.At.Format(time.RFC3339)))
		} else {
			waiting = append(waiting, ns.Name)
		}
	}
	return fmt.Sprintf("control-plane configs fetched: %s; not yet: %s", orNone(got), orNone(waiting))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
