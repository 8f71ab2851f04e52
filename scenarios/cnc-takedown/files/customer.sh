#!/bin/sh
# customer.sh RESOLVER: what an ordinary customer's device does all day
# (emulated): it looks up and fetches the portal, checks in with its
# vendor's cloud service, and visits the web shop, every 12 to 20 seconds.
resolver=${1:?usage: customer.sh RESOLVER}
lookup() { # NAME -> its address, or nothing
    timeout 5 nslookup -type=a "$1" "$resolver" 2>/dev/null |
        awk '/^Name:/ { n = 1 } n && /^Address/ { a = $NF } END { print a }'
}
while :; do
    for name in www.portal.example api.camcloud.example shop.example; do
        addr=$(lookup "$name")
        case "$addr" in
        *.*.*.*) timeout 5 wget -q -O /dev/null "http://$addr/" 2>/dev/null ;;
        esac
    done
    sleep $((12 + RANDOM % 9))
done
