# /usr/lib/vpn/cgi.sh: the request side of the gateway's CGI pages. Reads
# at most 4 KiB of a urlencoded POST body and sets F_user, F_password,
# F_otp and F_sid, decoded; reply prints the answer and ends the page.
# Shell builtins where it can: every process costs milliseconds under TCG.
reply() { printf 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\r\n%s\n' "$1"; exit 0; }

SRC=${REMOTE_ADDR#::ffff:}
case $SRC in ''|*[!0-9.]*) SRC=unknown ;; esac
BODY=
if [ "$REQUEST_METHOD" = POST ]; then
  case ${CONTENT_LENGTH:-0} in ''|*[!0-9]*) reply "result=denied" ;; esac
  [ "${CONTENT_LENGTH:-0}" -le 4096 ] || reply "result=denied"
  [ "${CONTENT_LENGTH:-0}" -eq 0 ] || IFS= read -r -n "$CONTENT_LENGTH" BODY || true
fi

# dec VALUE: sets _v to VALUE decoded (a process only when there is something to decode).
dec() { _v=$1; case $_v in *[%+]*) _v=$(httpd -d "$_v") ;; esac; }
F_user= F_password= F_otp= F_sid=
_ifs=$IFS; IFS='&'; set -f
for _kv in $BODY; do
  case $_kv in
  user=*) [ -n "$F_user" ] || { dec "${_kv#user=}"; F_user=$_v; } ;;
  password=*) [ -n "$F_password" ] || { dec "${_kv#password=}"; F_password=$_v; } ;;
  otp=*) [ -n "$F_otp" ] || { dec "${_kv#otp=}"; F_otp=$_v; } ;;
  sid=*) [ -n "$F_sid" ] || { dec "${_kv#sid=}"; F_sid=$_v; } ;;
  esac
done
IFS=$_ifs; set +f
