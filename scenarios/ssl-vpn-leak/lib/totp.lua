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
# 30-second STEP (default: now). Returns 2 for a key that is not hex.
totp() {
  case $1 in ''|*[!0-9a-f]*) return 2 ;; esac
  [ $(( ${#1} % 2 )) -eq 0 ] && [ ${#1} -le 128 ] || return 2
  _t=${2:-$(( $(date +%s) / 30 ))}
  case $_t in ''|*[!0-9]*) return 2 ;; esac
  _pad='BEGIN { h = "0123456789abcdef"; for (i = 0; i < 64; i++) { b = 0
      if (2 * i < length(k)) b = (index(h, substr(k, 2 * i + 1, 1)) - 1) * 16 + index(h, substr(k, 2 * i + 2, 1)) - 1
      printf "\\x%02x", xor(b, x) } }'
  _ctr=$(awk -v t="$_t" 'BEGIN { for (i = 8; i >= 1; i--) { b[i] = t % 256; t = int(t / 256) }
      for (i = 1; i <= 8; i++) printf "\\x%02x", b[i] }')
  _in=$(printf "$(awk -v k="$1" -v x=54 "$_pad")$_ctr" | sha1sum | cut -c1-40)
  _h=$(printf "$(awk -v k="$1" -v x=92 "$_pad")$(printf '%s' "$_in" | sed 's/../\\x&/g')" | sha1sum | cut -c1-40)
  awk -v s="$_h" 'function hv(x,   i, n) { n = 0
      for (i = 1; i <= length(x); i++) n = n * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
      return n }
    BEGIN { o = hv(substr(s, 40, 1)); printf "%06d\n", (hv(substr(s, 2 * o + 1, 8)) % 2147483648) % 1000000 }'
}
]=]
