#!/bin/bash
# wait-for-api URL CA_FILE MAX_SECONDS
# Waits, with a bounded exponential backoff, until URL/healthz answers 200 over TLS with a
# certificate from the cluster CA: the API behind the VIP is up and it is ours.
set -u
url=$1 ca=$2 max=${3:-3600}
deadline=$((SECONDS + max)) delay=1
until curl --silent --show-error --fail --max-time 5 --cacert "$ca" --output /dev/null "$url/healthz"; do
  if ((SECONDS + delay > deadline)); then
    echo "wait-for-api: $url/healthz did not answer within ${max}s" >&2
    exit 1
  fi
  echo "wait-for-api: $url/healthz not ready, retrying in ${delay}s"
  sleep "$delay"
  delay=$((delay * 2 > 30 ? 30 : delay * 2))
done
echo "wait-for-api: $url/healthz is up"
