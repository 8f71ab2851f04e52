# /usr/lib/pay/cgi.sh: the request side of the service's CGI pages. Reads
# at most 4 KiB of a urlencoded POST body and sets F_account, F_pin, F_code,
# F_email and F_token, decoded; SRC is the client's address; reply prints the
# answer (one line, then any text) and ends the page.
reply() { printf 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\r\n%s\n' "$1"; exit 0; }

SRC=${REMOTE_ADDR#::ffff:}
case $SRC in ''|*[!0-9.]*) SRC=unknown ;; esac
BODY=
if [ "$REQUEST_METHOD" = POST ]; then
  case ${CONTENT_LENGTH:-0} in ''|*[!0-9]*) reply "result=bad_request" ;; esac
  [ "${CONTENT_LENGTH:-0}" -le 4096 ] || reply "result=bad_request"
  [ "${CONTENT_LENGTH:-0}" -eq 0 ] || IFS= read -r -n "$CONTENT_LENGTH" BODY || true
fi

# dec VALUE: sets _v to VALUE decoded (a process only when there is something to decode).
dec() { _v=$1; case $_v in *[%+]*) _v=$(httpd -d "$_v") ;; esac; }
F_account= F_pin= F_code= F_email= F_token=
_ifs=$IFS; IFS='&'; set -f
for _kv in $BODY; do
  case $_kv in
  account=*) [ -n "$F_account" ] || { dec "${_kv#account=}"; F_account=$_v; } ;;
  pin=*) [ -n "$F_pin" ] || { dec "${_kv#pin=}"; F_pin=$_v; } ;;
  code=*) [ -n "$F_code" ] || { dec "${_kv#code=}"; F_code=$_v; } ;;
  email=*) [ -n "$F_email" ] || { dec "${_kv#email=}"; F_email=$_v; } ;;
  token=*) [ -n "$F_token" ] || { dec "${_kv#token=}"; F_token=$_v; } ;;
  esac
done
IFS=$_ifs; set +f
