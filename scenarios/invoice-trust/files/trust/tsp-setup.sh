#!/bin/sh
# tsp-setup.sh: runs once at provisioning on the "trust" VM of the
# invoice-trust scenario. It makes this team's PKI and invoices, so that no
# key or signature is committed and every team's differ:
#   - the emulated trust service provider: an e-seal CA, a TSA root CA and
#     the TSA's certificate; its repository (/srv/tsp/repo) publishes the two
#     CA certificates; the TSA answers `openssl ts` queries on 318/tcp;
#   - the suppliers' e-seals (one key and certificate per supplier, issued by
#     the e-seal CA) under /srv/vendors;
#   - the invoices of /srv/outbox/invoices.txt (written by scenario.lua: a
#     manifest, the suppliers and the invoices in clear), sealed (`openssl
#     cms -sign`) and time-stamped (through the TSA) into /srv/outbox/<batch>/;
#     then "altered" ones get their bank account changed after sealing,
#     "forged" ones are sealed with a self-made certificate of the emulated
#     attacker, "unsealed" ones get neither file;
#   - /srv/outbox/digests: the SHA-256 of every file sent and of the CA
#     certificates, which the scenario's checks compare with the AP share
#     (openssl costs about a second of CPU per call under TCG: too slow for
#     checks polled every round).
# Keys are EC P-256: quick to make under TCG, and realistic. Every openssl
# call counts under TCG, so there are no more of them than needed: about 60.
# Safe to run twice: a finished run leaves /srv/outbox/.sealed.
set -eu
umask 022
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# No system-wide configuration (every command that needs one gets -config):
# under TCG, reading Debian's openssl.cnf costs a third of an openssl call.
export OPENSSL_CONF=/dev/null

T=/srv/tsp
V=/srv/vendors
A=/srv/attacker
O=/srv/outbox
CNF=/usr/local/share/invoice-trust/x509.cnf
TSP_O="エグザンプル・トラストサービス株式会社"

[ -f "$O/.sealed" ] && exit 0

# Unpack the bundle: "@@ NAME" starts the file src/NAME.
rm -rf "$O/src"
mkdir -p "$O/src"
awk -v dir="$O/src" '
    /^@@ / { if ($2 !~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/) { print "bad name " $2 > "/dev/stderr"; exit 1 }
             if (f) close(f); f = dir "/" $2; printf "" > f; next }
    f { print > f }' "$O/invoices.txt"
rm -rf "$T/eseal-ca" "$T/tsa-ca" "$T/tsa/tsa.key" "$T/tsa/tsa.pem" "$T/repo" "$V" "$A" "$O/batch1" "$O/batch2"
mkdir -p "$T/eseal-ca" "$T/tsa-ca" "$T/tsa" "$T/repo" "$V" "$A"
chmod 0700 "$T/eseal-ca" "$T/tsa-ca" "$V" "$A"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" && chmod 0600 "$1"; }
serial() { echo "0x$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"; }
rootca() { # DIR SUBJECT
    newkey "$1/ca.key"
    openssl req -new -x509 -config "$CNF" -extensions ca -key "$1/ca.key" -subj "$2" \
        -days 3650 -sha256 -set_serial "$(serial)" -out "$1/ca.pem"
}
issue() { # CA_DIR PROFILE KEY SUBJECT OUT
    openssl req -new -config "$CNF" -key "$3" -subj "$4" |
        openssl x509 -req -CA "$1/ca.pem" -CAkey "$1/ca.key" -set_serial "$(serial)" -days 1825 -sha256 \
            -extfile "$CNF" -extensions "$2" -out "$5" 2>/dev/null
}

# The trust service provider: two roots and the TSA.
rootca "$T/eseal-ca" "/C=JP/O=$TSP_O/CN=Example e-Seal CA"
rootca "$T/tsa-ca" "/C=JP/O=$TSP_O/CN=Example TSA Root CA"
newkey "$T/tsa/tsa.key"
issue "$T/tsa-ca" tsa "$T/tsa/tsa.key" "/C=JP/O=$TSP_O/CN=Example Time-Stamping Authority" "$T/tsa/tsa.pem"
cp "$T/tsa-ca/ca.pem" "$T/tsa/tsa-ca.pem"
[ -s "$T/tsa/serial" ] || echo 01 > "$T/tsa/serial"
cp "$T/eseal-ca/ca.pem" "$T/repo/eseal-ca.pem"
cp "$T/tsa-ca/ca.pem" "$T/repo/tsa-ca.pem"
chmod 0644 "$T/repo"/*.pem

# The services: the TSA on 318/tcp, the repository on 80/tcp.
systemctl enable --now tsa.socket tsp-repo.socket 2>/dev/null   # enable reloads the units

# One e-seal per supplier: /srv/outbox/vendors has "code|organisation" lines.
while IFS='|' read -r code org <&3; do
    [ -n "$code" ] || continue
    mkdir -p "$V/$code"
    newkey "$V/$code/eseal.key"
    issue "$T/eseal-ca" eseal "$V/$code/eseal.key" "/C=JP/O=$org/CN=$org e-Seal" "$V/$code/eseal.pem"
    printf '%s\n' "$org" > "$V/$code/name"
done 3< "$O/src/vendors"

# Issue dates are today's, so that they agree with the time stamps.
issued=$(date +%F)
due=$(date -d '+30 days' +%F)
sed -i "s/@ISSUE@/$issued/; s/@DUE@/$due/" "$O"/src/*.json   # *.altered.json too

seal() { # FILE KEY CERT: a detached CMS signature, FILE.p7s
    openssl cms -sign -binary -md sha256 -in "$1" -inkey "$2" -signer "$3" -outform PEM -out "$1.p7s"
}
stamp() { # FILE: a time-stamp token over FILE from our TSA, FILE.tsr
    # (the TSA's own command, as tsa-serve runs it for requests on 318/tcp)
    openssl ts -query -data "$1" -sha256 -cert -out "$1.tsq" 2>/dev/null
    flock "$T/tsa/serial" openssl ts -reply -config "$T/tsa/tsa.cnf" -queryfile "$1.tsq" -out "$1.tsr" 2>/dev/null
    rm -f "$1.tsq"
}

# manifest lines: BATCH NAME VENDOR MODE
while read -r batch name vendor mode <&3; do
    case "$batch" in '' | '#'*) continue ;; esac
    mkdir -p "$O/$batch"
    f=$O/$batch/$name.json
    cp "$O/src/$name.json" "$f"
    case "$mode" in
    genuine)
        seal "$f" "$V/$vendor/eseal.key" "$V/$vendor/eseal.pem"
        stamp "$f"
        ;;
    altered) # sealed and stamped, then its bank account changed in transit
        seal "$f" "$V/$vendor/eseal.key" "$V/$vendor/eseal.pem"
        stamp "$f"
        cp "$O/src/$name.altered.json" "$f"
        ;;
    forged) # the attacker's self-made "e-seal" in the supplier's name; a real time stamp
        org=$(cat "$V/$vendor/name")
        if [ ! -s "$A/$vendor.pem" ]; then
            newkey "$A/$vendor.key"
            openssl req -new -x509 -config "$CNF" -extensions eseal -key "$A/$vendor.key" \
                -subj "/C=JP/O=$org/CN=$org e-Seal" -days 365 -sha256 -set_serial "$(serial)" -out "$A/$vendor.pem"
        fi
        seal "$f" "$A/$vendor.key" "$A/$vendor.pem"
        stamp "$f"
        ;;
    unsealed) ;;
    *) echo "tsp-setup: unknown mode '$mode' for $name" >&2; exit 1 ;;
    esac
done 3< "$O/src/manifest"

(cd "$O" && sha256sum batch1/* batch2/* && cd "$T" && sha256sum repo/*.pem) > "$O/digests.tmp"
mv "$O/digests.tmp" "$O/digests"
touch "$O/.sealed"
# The first batch goes to the accounts-payable drop now (retrying until the
# AP server is up); the second when the exercise says so (an inject).
systemctl start --no-block vendor-deliver@batch1.service
