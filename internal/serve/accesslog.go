package serve

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// logged is what the access log needs to know about a request.
type logged struct {
	http.ResponseWriter
	status int
	bytes  int64
	mac    string
	node   string
}

func (l *logged) WriteHeader(code int) {
	if l.status == 0 {
		l.status = code
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *logged) Write(p []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	n, err := l.ResponseWriter.Write(p)
	l.bytes += int64(n)
	return n, err
}

func (l *logged) Unwrap() http.ResponseWriter { return l.ResponseWriter }

type ctxKey struct{}

// note records the MAC and node a handler resolved, for the access log.
func note(r *http.Request, mac, name string) {
	if l, ok := r.Context().Value(ctxKey{}).(*logged); ok {
		l.mac, l.node = mac, name
	}
}

// accessLog writes one line per request. MAC and node are quoted when they are not what the
// server resolved (raw query text), so a client cannot forge log fields.
func (s *Server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		l := &logged{ResponseWriter: w}
		h.ServeHTTP(l, r.WithContext(context.WithValue(r.Context(), ctxKey{}, l)))
		if l.status == 0 {
			l.status = http.StatusOK
		}
		s.logf("client=%s method=%s path=%s mac=%s node=%s status=%d bytes=%d duration=%s",
			r.RemoteAddr, r.Method, strconv.Quote(r.URL.Path), field(l.mac), field(l.node), l.status, l.bytes,
			s.opts.Now().Sub(start).Round(time.Microsecond))
	})
}

// field is a log field: "-" when empty, quoted when it holds anything but plain name characters.
func field(s string) string {
	if s == "" {
		return "-"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || c == '_') {
			return strconv.Quote(s)
		}
	}
	return s
}
