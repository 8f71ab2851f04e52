-- lib/totp.lua: the one-time code of the range, as a busybox shell function.
-- The gateway verifies codes with it, the teleworker's PC ("authenticator")
-- makes them with it, and the checks carry their own copy in their argv, so
-- that a team cannot change what a check computes. It is RFC 6238 TOTP
-- (HMAC-SHA1, 30-second steps, 6 digits) with the key in hex instead of
-- base32; busybox has sha1sum but no HMAC, so HMAC is built here from
-- sha1sum, awk's xor() and printf's \x escapes (RFC 2104: the key padded to
-- 64 bytes, inner hash over key^0x36 and the counter, outer over key^0x5c
-- and the inner hash). The RFC's test vector (key "12345678901234567890",
-- T = 1) gives 287082.
return [=[
# totp KEY [STEP]: the TOTP code of the hex KEY (2..128 hex digits) at the
# 30-second STEP (default: now). Returns 2 for a key that is not hex. Few
# processes: each costs milliseconds under TCG, and checks have seconds.
totp() {
  case $1 in ''|*[!0-9a-f]*) return 2 ;; esac
  [ $(( ${#1} % 2 )) -eq 0 ] && [ ${#1} -le 128 ] || return 2
  _t=${2:-$(( $(date +%s) / 30 ))}
  case $_t in ''|*[!0-9]*) return 2 ;; esac
  # The inner pad, the outer pad and the counter, as printf escapes.
  set -- $(awk -v k="$1" -v t="$_t" 'BEGIN { h = "0123456789abcdef"
      for (i = 0; i < 64; i++) { b = 0
        if (2 * i < length(k)) b = (index(h, substr(k, 2 * i + 1, 1)) - 1) * 16 + index(h, substr(k, 2 * i + 2, 1)) - 1
        ip = ip sprintf("\\x%02x", xor(b, 54)); op = op sprintf("\\x%02x", xor(b, 92)) }
      for (i = 8; i >= 1; i--) { c[i] = t % 256; t = int(t / 256) }
      for (i = 1; i <= 8; i++) ctr = ctr sprintf("\\x%02x", c[i])
      print ip; print op; print ctr }')
  _x=$(printf "$1$3" | sha1sum); _x=${_x%% *}
  _e=
  while [ -n "$_x" ]; do _r=${_x#??}; _e="$_e\\x${_x%"$_r"}"; _x=$_r; done
  _h=$(printf "$2$_e" | sha1sum); _h=${_h%% *}
  # Dynamic truncation (RFC 4226 5.3): 4 bytes at the offset the last nibble gives.
  _o=$(( 0x${_h#???????????????????????????????????????} * 2 ))
  while [ $_o -gt 0 ]; do _h=${_h#?}; _o=$((_o - 1)); done
  _r=${_h#????????}
  printf '%06d\n' $(( (0x${_h%"$_r"} & 0x7fffffff) % 1000000 ))
}
]=]
