# /usr/lib/vpn/common.sh: what the gateway's sign-in pages (cgi-bin/login,
# portal, logout) and its administration tool (vpnctl) share: where things
# are, the log, the account file and the session store. Busybox ash only.
#
#   /etc/vpn/users          NAME:CRYPT:OTPKEY   (SHA-512 crypt; OTPKEY hex, empty when not enrolled)
#   /etc/vpn/vpn.conf       require_otp=on|off  (the second factor, for every account)
#   /var/lib/vpn/sessions/  one file per session, named by its id: "user=NAME src=ADDR start=EPOCH"
#   /var/log/vpn/auth.log   sign-ins, sign-outs, portal access, administration
#   /var/log/vpn/system.log firmware and configuration history
. /usr/lib/vpn/totp.sh

USERS=/etc/vpn/users
CONF=/etc/vpn/vpn.conf
SESSIONS=/var/lib/vpn/sessions
AUTHLOG=/var/log/vpn/auth.log
NL='
'

# The gateway's clock in Japan time, as the log shows it.
stamp() { date -u -d "@$(( ${1:-$(date +%s)} + 32400 ))" +%Y-%m-%dT%H:%M:%S+09:00; }
log_auth() { echo "$(stamp) vpn-gw[$$]: $*" >> "$AUTHLOG"; }

valid_name() { case $1 in ''|[!a-z_]*|*[!a-z0-9_-]*) return 1 ;; esac; [ ${#1} -le 32 ]; }
valid_sid() { case $1 in *[!0-9a-f]*) return 1 ;; esac; [ ${#1} -eq 32 ]; }

# user_field NAME N: field N of NAME's line in the account file.
user_field() { awk -F: -v u="$1" -v n="$2" '$1 == u { print $n; exit }' "$USERS"; }

conf() { sed -n "s/^$1=//p" "$CONF" | tail -n 1; }

# The sign-in's lookups, with builtins only. lookup_user NAME sets U_HASH
# and U_KEY (false when there is no such account); conf_var NAME sets
# C_VALUE (the last line for NAME wins, as in conf).
lookup_user() {
  while IFS=: read -r _n _h _k; do
    [ "$_n" = "$1" ] && { U_HASH=$_h U_KEY=$_k; return 0; }
  done < "$USERS"
  U_HASH= U_KEY=; return 1
}
conf_var() {
  C_VALUE=
  while IFS='=' read -r _a _b; do [ "$_a" = "$1" ] && C_VALUE=$_b; done < "$CONF"
}

# crypt_pw PASSWORD SALT: the SHA-512 crypt of PASSWORD (read from a pipe,
# never from the command line).
crypt_pw() { printf '%s\n' "$1" | mkpasswd -m sha512 -P 0 -S "$2"; }

check_password() { # PASSWORD CRYPT
  case $1 in ''|*"$NL"*) return 1 ;; esac
  _salt=${2#\$6\$}; _salt=${_salt%%\$*}
  [ -n "$_salt" ] && [ "$(crypt_pw "$1" "$_salt")" = "$2" ]
}

# otp_ok KEY CODE: CODE is KEY's code for this step or the one before or after.
otp_ok() {
  case $2 in [0-9][0-9][0-9][0-9][0-9][0-9]) ;; *) return 1 ;; esac
  _now=$(( $(date +%s) / 30 ))
  for _d in 0 -1 1; do
    [ "$(totp "$1" $(( _now + _d )))" = "$2" ] && return 0
  done
  return 1
}

new_hex() { hexdump -n "$1" -e "$1/1 \"%02x\"" /dev/urandom; }
new_salt() { tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 16; }

# set_user NAME CRYPT KEY: replaces NAME's line (or adds it), atomically.
set_user() {
  awk -F: -v u="$1" '$1 != u' "$USERS" > "$USERS.new" &&
    echo "$1:$2:$3" >> "$USERS.new" && chmod 600 "$USERS.new" && mv "$USERS.new" "$USERS"
}
