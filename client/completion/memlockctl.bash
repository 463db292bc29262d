# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for memlockctl(1): commands, options, workload ids and pids, policy names,
# signals, modes. Installed as bash-completion/completions/memlockctl.

__memlockctl_socket_args() {
        # Reuse a --socket given on the command line for the queries below.
        local i
        for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
                case ${COMP_WORDS[i]} in
                --socket) printf '%s\n' --socket "${COMP_WORDS[i + 1]}" ;;
                --socket=*) printf '%s\n' "${COMP_WORDS[i]}" ;;
                esac
        done
}

__memlockctl() {
        local -a sock
        mapfile -t sock < <(__memlockctl_socket_args)
        command memlockctl "${sock[@]}" --no-pager "$@" 2>/dev/null
}

# Workload ids and pids from `memlockctl list` (columns: ID NAME PID ...).
__memlockctl_workloads() {
        __memlockctl list --no-legend | awk '{ print $1; print $3 }'
}

__memlockctl_policies() {
        {
                __memlockctl policy list ||
                        __memlockctl policy list --offline
        } | sed 's/:.*//'
}

_memlockctl() {
        local cur prev words cword
        if declare -F _init_completion >/dev/null; then
                _init_completion || return
        else
                cur=${COMP_WORDS[COMP_CWORD]}
                prev=${COMP_WORDS[COMP_CWORD - 1]}
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
        fi

        local commands="run exec attach detach kill status list metrics check explain reload policy help"
        local global="--help --version --socket --json --json=short --json=pretty --no-pager
                      --no-legend --full --quiet"
        local -A verb_opts=(
                [run]="--policy --mode --limit --prefault-threads --name --detach"
                [exec]="--policy --mode --limit --name"
                [attach]="--policy --mode --limit --name --wait"
                [detach]="" [kill]="--signal" [status]="" [list]="" [metrics]="--output" [check]=""
                [explain]="" [reload]=""
                [policy]="--offline --policy-dir --exe --user --caller --kind --domain --unit
                          --policy --mode --limit"
        )

        case $prev in
        --socket | --policy-dir | --output | -o)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return ;;
        --exe)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                return ;;
        --mode)
                mapfile -t COMPREPLY < <(compgen -W "on on-fault current" -- "$cur")
                return ;;
        --kind)
                mapfile -t COMPREPLY < <(compgen -W "run attach exec" -- "$cur")
                return ;;
        --policy)
                mapfile -t COMPREPLY < <(compgen -W "$(__memlockctl_policies)" -- "$cur")
                return ;;
        --signal | -s)
                mapfile -t COMPREPLY < <(compgen -W "$(compgen -A signal | sed 's/^SIG//')" -- "$cur")
                return ;;
        --user | --caller)
                mapfile -t COMPREPLY < <(compgen -u -- "$cur")
                return ;;
        --limit | --prefault-threads | --name | --domain | --unit)
                return ;;
        esac

        # The command is the first word that is not an option (or an option's value).
        local i verb='' sub='' after_dashdash=0
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --) after_dashdash=1; break ;;
                --socket | --policy | --mode | --limit | --prefault-threads | --name | --signal | \
                        -s | --policy-dir | --exe | --user | --caller | --kind | --domain | --unit)
                        ((i++)) ;;
                -*) ;;
                *)
                        if [[ -z $verb ]]; then
                                verb=${words[i]}
                        elif [[ $verb == policy && -z $sub ]]; then
                                sub=${words[i]}
                        fi ;;
                esac
        done

        if [[ $verb == run || $verb == exec ]] && ((after_dashdash)); then
                # Everything after -- is the command and its arguments.
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
                return
        fi
        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        mapfile -t COMPREPLY < <(compgen -W "$global" -- "$cur")
                else
                        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
                fi
                return
        fi
        if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$global ${verb_opts[$verb]:-}" -- "$cur")
                return
        fi

        case $verb in
        status | detach | kill)
                mapfile -t COMPREPLY < <(compgen -W "$(__memlockctl_workloads)" -- "$cur") ;;
        attach | explain)
                mapfile -t COMPREPLY < <(compgen -W "$(command ls /proc | grep -E '^[0-9]+$')" -- "$cur") ;;
        policy)
                if [[ -z $sub ]]; then
                        mapfile -t COMPREPLY < <(compgen -W "check list explain" -- "$cur")
                elif [[ $sub == check ]]; then
                        compopt -o filenames 2>/dev/null
                        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                fi ;;
        run | exec)
                mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
        esac
}

complete -F _memlockctl memlockctl
