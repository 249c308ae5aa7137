# shellcheck shell=bash
# Bash completion for outpost(8). Commands, subcommands and options are read
# from the program's own --help, which prints its command tables, so a new
# command or option completes without touching this file.

# _outpost_help PROG WORDS...: PROG WORDS... --help, errors dropped.
_outpost_help() {
	"$@" --help 2>/dev/null
}

# The names of a "Commands:" block, as cli_print_commands writes it.
_outpost_table() {
	awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

_outpost() {
	local cur prev prog i help
	local -a path=()

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	prog=${COMP_WORDS[0]}

	# The command and, for a group (tenant, bundle), its subcommand; global
	# options and their arguments are not part of it.
	for ((i = 1; i < COMP_CWORD && ${#path[@]} < 2; i++)); do
		case ${COMP_WORDS[i]} in
		--state | --profile) ((i++)) ;;
		-*) ;;
		*)
			if [[ ${#path[@]} -eq 1 ]] && ! _outpost_help "$prog" "${path[@]}" | grep -q '^Commands:'; then
				break
			fi
			path+=("${COMP_WORDS[i]}")
			;;
		esac
	done

	help=$(_outpost_help "$prog" "${path[@]}")
	# An option whose help shows an argument (--out DIR, --bundle FILE) takes a path.
	if [[ $prev == --* ]] && grep -q -- "$prev [A-Z]" <<<"$help"; then
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$({ grep -o -- '--[a-z][a-z0-9-]*' <<<"$help"; echo --help; } | sort -u)" -- "$cur")
	elif grep -q '^Commands:' <<<"$help"; then
		mapfile -t COMPREPLY < <(compgen -W "$(_outpost_table <<<"$help")" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

complete -o filenames -F _outpost outpost
