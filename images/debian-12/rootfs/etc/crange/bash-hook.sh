# bash-hook.sh: records every command line typed in an interactive bash, for
# every user, in the trainee action log. Sourced by /etc/bash.bashrc, which
# bash reads for interactive shells (login shells through /etc/profile).
#
# How: PROMPT_COMMAND arms a DEBUG trap; the trap fires before the first
# command of the next line, when the whole line is already in the history,
# and hands it with the current directory to the setgid helper
# crange-action, which appends it to the spool under a lock (so concurrent
# shells are safe) and takes the user from the kernel. The line is logged
# before it runs, as the tiny image's console shell does; the next prompt
# logs its exit status, naming the line's seq.
#
# This records what trainees type; it does not police them. A trainee who
# unsets the trap or the history in their own shell goes unrecorded from then
# on, which is fine for an exercise log (an audit trail would be auditd).

if [ -n "${BASH_VERSION-}" ] && [ -n "${PS1-}" ] && [ -z "${__crange_hook-}" ] &&
   [ -x /usr/libexec/crange/crange-action ]; then
    __crange_hook=1
    __crange_armed=
    __crange_last=

    __crange_prompt() {
        # The status of the line the hook logged (captured first thing in
        # PROMPT_COMMAND, before any other prompt command changes $?).
        if [ -n "$__crange_seq" ]; then
            /usr/libexec/crange/crange-action --status "$__crange_seq" "$__crange_rc"
            __crange_seq=
        fi
        # The user's ~/.bashrc (Debian's default has ignoreboth) must not
        # keep lines out of the history, or the hook could not see them.
        HISTCONTROL= HISTIGNORE=
        __crange_last=$(HISTTIMEFORMAT= builtin history 1)
        __crange_armed=1
    }

    __crange_preexec() {
        [ -n "$__crange_armed" ] || return 0
        case "$BASH_COMMAND" in __crange_prompt* | __crange_rc=*) return 0 ;; esac
        __crange_armed=
        local h line re='^ *[0-9]+[* ] (.*)$'
        h=$(HISTTIMEFORMAT= builtin history 1)
        # A new history entry is the line just typed: strip its number
        # ("  12  ls", "  12* ls"). No new entry with the history on means no
        # line was typed (the trap fired for a PROMPT_COMMAND of the user's).
        # With the history off, the command itself is the best we have.
        if ! shopt -oq history; then
            line=$BASH_COMMAND
        elif [ "$h" != "$__crange_last" ] && [[ $h =~ $re ]]; then
            line=${BASH_REMATCH[1]}
        else
            return 0
        fi
        __crange_seq=$(/usr/libexec/crange/crange-action "$PWD" "$line")
    }

    __crange_seq=
    PROMPT_COMMAND="__crange_rc=\$?; ${PROMPT_COMMAND:+$PROMPT_COMMAND; }__crange_prompt"
    trap '__crange_preexec' DEBUG
fi
