-- lib/client.lua: the client side of the gateway's sign-in, as busybox
-- shell functions. The teleworker's vpn-connect, the attacker's tools and
-- the checks all speak to the gateway through these; the checks carry their
-- own copy in their argv. GW must be set to the gateway's address.
return [=[
# enc STRING: bytes other than letters, digits and ._- as %HH, so that any
# password survives the form encoding (the usual ones need no process).
enc() {
  case $1 in
  *[!A-Za-z0-9._-]*) printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | sed 's/../%&/g' ;;
  *) printf '%s' "$1" ;;
  esac
}
# vpn_post PAGE BODY: the first line of the gateway's answer, or
# "result=unreachable" when it gave none.
vpn_post() {
  _r=$(timeout 20 wget -qO- --post-data "$2" "http://$GW:10443/cgi-bin/$1" 2>/dev/null) &&
    [ -n "$_r" ] || { echo result=unreachable; return 0; }
  printf '%s\n' "${_r%%
*}"
}
# vpn_login USER PASSWORD [CODE]
vpn_login() { vpn_post login "user=$(enc "$1")&password=$(enc "$2")${3:+&otp=$(enc "$3")}"; }
vpn_portal() { vpn_post portal "sid=$(enc "$1")"; }
vpn_logout() { vpn_post logout "sid=$(enc "$1")"; }
]=]
