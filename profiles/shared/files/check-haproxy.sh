#!/bin/sh
# keepalived track script: succeed while the local HAProxy answers its monitor URI, which fails
# when HAProxy sees no healthy kube-apiserver. Runs inside the keepalived container: use curl or
# busybox wget, whichever the image has.
url=http://127.0.0.1:{{ .MonitorPort }}/healthz
if command -v curl >/dev/null 2>&1; then
  exec curl --silent --fail --max-time 1 --output /dev/null "$url"
fi
exec wget -q -T 1 -O /dev/null "$url"
