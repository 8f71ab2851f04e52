# /usr/lib/pay/common.sh: what the payment service's pages (cgi-bin/login,
# reset, reset-confirm) and its seeding share: where things are, the
# settings, the log, the account file and the counters. Busybox ash only,
# with builtins where it can: every process costs milliseconds under TCG.
#
#   /etc/pay/accounts        ACCOUNT:SALT:SHA256(SALT:PIN):EMAIL:NAME:BALANCE
#   /etc/pay/pay.conf        login_limit= lockout= login_2fa= reset_to= (read on every request)
#   /etc/pay/mail-relay      the mail provider's address (its HTTP delivery API)
#   /var/lib/pay/fails/ACC   failures in a row of an account
#   /var/lib/pay/src/ADDR    one line per failed sign-in from a source address: its time
#   /var/lib/pay/pending/ACC the confirmation code mailed at sign-in, and its time
#   /var/lib/pay/reset/TOKEN the account a reset link is for, and its time
#   /var/log/pay/auth.log    sign-ins, resets, mail sent
ACCOUNTS=/etc/pay/accounts
CONF=/etc/pay/pay.conf
STATE=/var/lib/pay
AUTHLOG=/var/log/pay/auth.log
NOW=$EPOCHSECONDS
read -r MAIL < /etc/pay/mail-relay || MAIL=

# The service's clock in Japan time, as the log shows it.
stamp() { date -u -d "@$(( ${1:-$NOW} + 32400 ))" +%Y-%m-%dT%H:%M:%S+09:00; }
log_auth() { echo "$(stamp) sugupay[$$]: $*" >> "$AUTHLOG"; }

valid_account() { case $1 in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]) return 0 ;; esac; return 1; }
valid_pin() { case $1 in ''|*[!0-9]*) return 1 ;; esac; [ ${#1} -ge 4 ] && [ ${#1} -le 8 ]; }
valid_mail() {
  case $1 in *[!a-z0-9._@-]*|*@*@*|@*|*@) return 1 ;; *@*.*) ;; *) return 1 ;; esac
  [ ${#1} -le 64 ]
}

# lookup_account ACC: sets A_SALT A_HASH A_MAIL A_NAME A_BAL (false when
# there is no such account).
lookup_account() {
  while IFS=: read -r _a _s _h _m _n _b; do
    [ "$_a" = "$1" ] && { A_SALT=$_s A_HASH=$_h A_MAIL=$_m A_NAME=$_n A_BAL=$_b; return 0; }
  done < "$ACCOUNTS"
  A_SALT= A_HASH= A_MAIL= A_NAME= A_BAL=; return 1
}

# conf_var NAME DEFAULT: sets C_VALUE to NAME's setting (the last line
# wins; blanks around the name and the value are ignored).
conf_var() {
  C_VALUE=$2
  while IFS='=' read -r _k _v; do
    _k=${_k#"${_k%%[! 	]*}"}; _k=${_k%"${_k##*[! 	]}"}
    [ "$_k" = "$1" ] || continue
    _v=${_v#"${_v%%[! 	]*}"}; _v=${_v%"${_v##*[! 	]}"}
    C_VALUE=$_v
  done < "$CONF"
}
# conf_num NAME: the setting as a number (0, off, when it is not one).
conf_num() { conf_var "$1" 0; case $C_VALUE in ''|*[!0-9]*) C_VALUE=0 ;; esac; }

pin_hash() { _x=$(printf '%s' "$1:$2" | sha256sum); echo "${_x%% *}"; }
new_hex() { hexdump -n "$1" -e "$1/1 \"%02x\"" /dev/urandom; }

# set_pin ACC PIN: a new salt and hash for ACC, atomically.
set_pin() {
  _s=$(new_hex 8)
  awk -F: -v OFS=: -v a="$1" -v s="$_s" -v h="$(pin_hash "$_s" "$2")" '$1 == a { $2 = s; $3 = h } { print }' \
    "$ACCOUNTS" > "$ACCOUNTS.new" && chmod 600 "$ACCOUNTS.new" && mv "$ACCOUNTS.new" "$ACCOUNTS"
}

# The counters. A failure counts for the account (in a row) and for the
# source address (in time), whatever the settings, so that turning a limit
# on takes effect at once.
account_fails() { A_FAILS=0; [ -f "$STATE/fails/$1" ] && read -r A_FAILS < "$STATE/fails/$1"; case $A_FAILS in ''|*[!0-9]*) A_FAILS=0 ;; esac; }
record_failure() { # ACC SRC
  if [ -n "$1" ]; then account_fails "$1"; echo $((A_FAILS + 1)) > "$STATE/fails/$1"; fi
  echo "$NOW" >> "$STATE/src/$2"
}
# src_fails SRC: sets S_FAILS, the failures from SRC in the last 15 minutes
# (and forgets older ones).
src_fails() {
  S_FAILS=0
  [ -f "$STATE/src/$1" ] || return 0
  S_FAILS=$(awk -v t=$((NOW - 900)) -v f="$STATE/src/$1.new" '$1 + 0 > t { print > f; n++ } END { print n + 0 }' "$STATE/src/$1")
  if [ -f "$STATE/src/$1.new" ]; then mv "$STATE/src/$1.new" "$STATE/src/$1"; else : > "$STATE/src/$1"; fi
}

# send_mail TO SUBJECT BODY: through the mail provider's delivery API.
send_mail() {
  printf 'From: SuguPay <no-reply@sugupay.example.jp>\nTo: %s\nSubject: %s\n\n%s\n' "$1" "$2" "$3" > "$STATE/mail.$$"
  _r=$(timeout 10 wget -qO- --post-file "$STATE/mail.$$" "http://$MAIL/cgi-bin/deliver?to=$1" 2>/dev/null)
  rm -f "$STATE/mail.$$"
  [ "$_r" = "result=ok" ]
}
