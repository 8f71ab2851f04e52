# /usr/lib/vpn/cgi.sh: the request side of the gateway's CGI pages. Reads
# at most 4 KiB of a urlencoded POST body; field NAME prints NAME's value,
# decoded (busybox httpd -d); reply prints the answer and ends the page.
reply() { printf 'Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\r\n%s\n' "$1"; exit 0; }

SRC=${REMOTE_ADDR#::ffff:}
case $SRC in ''|*[!0-9.]*) SRC=unknown ;; esac
BODY=
if [ "$REQUEST_METHOD" = POST ]; then
  case ${CONTENT_LENGTH:-0} in ''|*[!0-9]*) reply "result=denied" ;; esac
  [ "${CONTENT_LENGTH:-0}" -le 4096 ] || reply "result=denied"
  BODY=$(head -c "${CONTENT_LENGTH:-0}")
fi

field() {
  _v=$(printf '%s\n' "$BODY" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1)
  [ -z "$_v" ] || httpd -d "$_v"
}
