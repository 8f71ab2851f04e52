#!/bin/sh
# bot.sh CNC: an EMULATED IoT bot for the exercise. It is not malware and
# contains no exploit: it only asks a web server inside the range for a
# command (plain HTTP, like many IoT bots do) and carries it out with
# busybox ping. Only targets inside the range's "internet" network
# 203.0.113.0/24 are accepted, and the rate is fixed low (10 packets/s).
#
# Command format served by the C&C at /cmd: "attack icmp TARGET SECONDS" or
# "idle".
cnc=${1:?usage: bot.sh CNC_ADDRESS}
while :; do
    cmd=$(timeout 4 wget -q -O - "http://$cnc/cmd" 2>/dev/null)
    set -- $cmd
    if [ "${1:-}" = attack ] && [ "${2:-}" = icmp ]; then
        case "${4:-}" in ''|*[!0-9]*) secs=10 ;; *) secs=$4 ;; esac
        [ "$secs" -le 30 ] || secs=30
        case "${3:-}" in
        203.0.113.*) ping -q -i 0.1 -s 1000 -w "$secs" "$3" >/dev/null 2>&1 ;;
        *) sleep 5 ;;
        esac
    else
        sleep 5
    fi
done
