#!/bin/sh
# tests/integration/tls_certs.sh DIR — throwaway TLS material for the HTTPS
# tests, made with the openssl command (P-256 keys, valid for two days):
#   ca.pem ca.key              a CA
#   server.pem server.key      signed by it, for localhost and 127.0.0.1
#   client.pem client.key      signed by it, for client authentication (mTLS)
#   other-ca.pem other-ca.key  an unrelated CA (a "wrong CA" for the client)
# Nothing here is secret or reused: each test run makes its own in DIR.
set -eu
d="${1:?usage: tls_certs.sh DIR}"
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
leaf() { # name CN extensions
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
ca ca "stitch test CA"
ca other-ca "some other CA"
leaf server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
leaf client stitch-test-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
