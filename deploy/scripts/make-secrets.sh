#!/usr/bin/env bash
# Make the secrets a zkprover deployment reads, into DIR (default deploy/compose/secrets):
#
#   ca.crt ca.key            a private CA (keep ca.key offline once the certificates exist)
#   server.crt server.key    the gRPC server's certificate: localhost, 127.0.0.1, server,
#                            zkprover, zkprover.zkprover.svc(.cluster.local), plus $EXTRA_SANS
#   tokens                   'CLIENT ROLE TOKEN' lines: ops (admin) and operator (submit)
#   ops.token operator.token each client's own token, to hand to that client
#   postgres_password grafana_admin_password
#   l1_operator.key          the L1 operator's signing key: a fresh, UNFUNDED placeholder; put the
#                            funded operator account's key here (64 hex digits)
#
# Existing files are kept, so running it again only fills gaps. Needs openssl.
#   EXTRA_SANS="DNS:prover.example.com,IP:10.0.0.5" deploy/scripts/make-secrets.sh
set -euo pipefail
dir=${1:-$(dirname "$0")/../compose/secrets}
mkdir -p "$dir"
cd "$dir"

rand() { openssl rand -hex 24; }
[ -f postgres_password ] || rand > postgres_password
[ -f grafana_admin_password ] || rand > grafana_admin_password
[ -f ops.token ] || rand > ops.token
[ -f operator.token ] || rand > operator.token
[ -f l1_operator.key ] || openssl rand -hex 32 > l1_operator.key
[ -f tokens ] || printf 'ops admin %s\noperator submit %s\n' "$(cat ops.token)" "$(cat operator.token)" > tokens

if [ ! -f ca.crt ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=zkprover CA" -keyout ca.key -out ca.crt 2>/dev/null
fi
if [ ! -f server.crt ]; then
    sans="DNS:localhost,IP:127.0.0.1,DNS:server,DNS:zkprover,DNS:zkprover.zkprover.svc"
    sans="$sans,DNS:zkprover.zkprover.svc.cluster.local${EXTRA_SANS:+,$EXTRA_SANS}"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=zkprover" \
        -keyout server.key -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -out server.crt \
        -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans") 2>/dev/null
    rm -f server.csr ca.srl
fi
# The containers run as uid 10001 and compose bind-mounts each file as it is, so the files are
# world-readable and the folder is not: other users of the host cannot reach them.
chmod 700 .
chmod 644 ./*
rm -f ca.key.pub
ls -l "$PWD"
