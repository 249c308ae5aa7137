#!/bin/sh
# completion/outpost.bash in a real bash: `outpost ten<TAB>`, `outpost tenant
# <TAB>`, options after a subcommand, paths after an option that takes one,
# and global options skipped. The words come from the program's --help, so
# the binary under test is the one completed.
. "$top_srcdir/tests/lib.sh"
skip_unless bash

# complete WORDS...: COMPREPLY for the last word, one per line, sorted.
complete_words() {
	(cd "$T" && bash -c '
		. "$1/completion/outpost.bash"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_outpost
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort
	' bash "$top_srcdir" "$@")
}

# expect_completion WANT DESCRIPTION -- WORDS...: WANT is the replies, space-separated.
expect_completion() {
	want=$1 desc=$2; shift 3
	got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc: got '$got', wanted '$want'"; fi
}

expect_completion "tenant" "outpost ten<TAB> is tenant" -- "$OUTPOST" ten
expect_completion "add export import list resume rm set show suspend sync" \
	"outpost tenant <TAB> lists the tenant subcommands" -- "$OUTPOST" tenant ""
expect_completion "backup bundle ca capacity install reconcile reset restore rollback status supervise support-bundle tenant tls top version" \
	"outpost <TAB> lists every command" -- "$OUTPOST" ""
expect_completion "add" "global --state and its path are skipped" -- "$OUTPOST" --state /x tenant a
expect_completion "--help --json --pubkey" "outpost bundle list --<TAB> lists its options" -- "$OUTPOST" bundle list --
expect_completion "--app --help --host --plan --set" "outpost tenant add x --<TAB> lists add's options" \
	-- "$OUTPOST" tenant add x --
mkdir "$T/dir" && : >"$T/dir/v1.bundle"
expect_completion "$T/dir/v1.bundle" "install --bundle <TAB> completes a path" -- "$OUTPOST" install --bundle "$T/dir/v"
expect_completion "" "tenant rm NAME<TAB> offers no subcommand" -- "$OUTPOST" tenant rm x
finish
