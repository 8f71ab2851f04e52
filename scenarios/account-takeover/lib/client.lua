-- lib/client.lua: the client side of the payment service and of the mail
-- provider, as busybox shell functions. The customer's app (pay-app), the
-- attacker's tools and the checks all speak HTTP through these; the checks
-- carry their own copy in their argv, so that a team cannot change what a
-- check runs. PAY and MAIL must be set to the two servers' addresses.
return [=[
# enc STRING: bytes other than letters, digits and ._@- as %HH, so that any
# value survives the form encoding (the usual ones need no process).
enc() {
  case $1 in
  *[!A-Za-z0-9._@-]*) printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | sed 's/../%&/g' ;;
  *) printf '%s' "$1" ;;
  esac
}
# pay_post PAGE BODY: the first line of the service's answer, or
# "result=unreachable" when it gave none.
pay_post() {
  _r=$(timeout 20 wget -qO- --post-data "$2" "http://$PAY/cgi-bin/$1" 2>/dev/null) &&
    [ -n "$_r" ] || { echo result=unreachable; return 0; }
  printf '%s\n' "${_r%%
*}"
}
# pay_login ACCOUNT PIN [CODE]
pay_login() { pay_post login "account=$(enc "$1")&pin=$(enc "$2")${3:+&code=$(enc "$3")}"; }
# pay_reset ACCOUNT [ADDRESS]: ask for a PIN reset mail (to ADDRESS if given).
pay_reset() { pay_post reset "account=$(enc "$1")${2:+&email=$(enc "$2")}"; }
# pay_reset_confirm TOKEN NEWPIN
pay_reset_confirm() { pay_post reset-confirm "token=$(enc "$1")&pin=$(enc "$2")"; }
# mail_fetch ADDRESS PASSWORD: the new mail of ADDRESS at the mail provider
# (fetched mail is moved to the read folder, as POP3 does), at most 64 KiB.
mail_fetch() {
  timeout 20 wget -qO- --post-data "addr=$(enc "$1")&password=$(enc "$2")" "http://$MAIL/cgi-bin/inbox" 2>/dev/null |
    head -c 65536
}
# last_value KEY TEXT: the value of the last "KEY=value" line of TEXT.
last_value() { printf '%s\n' "$2" | sed -n "s/^$1=\([0-9a-f]*\)\$/\1/p" | tail -n 1; }
]=]
