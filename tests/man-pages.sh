#!/bin/sh
# The manual pages: mandoc's linter finds nothing at warning level or above,
# and every command of the program's command tables is documented in
# outpost(8), so a command added without docs fails here.
. "${top_srcdir:?}/tests/lib.sh"
skip_unless mandoc

for page in man/outpost.8 man/outpost-bundle.5; do
	if mandoc -T lint -W warning "$top_srcdir/$page" >"$T/lint" 2>&1; then
		ok "$page: mandoc -T lint -W warning is clean"
	else
		not_ok "$page: mandoc lint warnings"; sed 's/^/# /' "$T/lint" >&2
	fi
done

# The rendered page's plain text (overstrike removed), so that font escapes
# do not hide a name.
mandoc -T ascii -O width=200 "$top_srcdir/man/outpost.8" | sed 's/.\x08//g' >"$T/page"

# The names a "Commands:" block lists, as the program prints its tables.
commands() {
	"$OUTPOST" "$@" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}
commands >"$T/top"
[ -s "$T/top" ] && ok "outpost --help lists commands" || not_ok "outpost --help lists no command"
while read -r cmd; do
	if "$OUTPOST" "$cmd" --help 2>/dev/null | grep -q '^Commands:'; then
		commands "$cmd" | while read -r sub; do echo "$cmd $sub"; done
	else
		echo "$cmd"
	fi
done <"$T/top" >"$T/all"
while read -r line; do
	if grep -Eq "^ +$line( |\$)" "$T/page"; then
		ok "outpost.8 documents '$line'"
	else
		not_ok "outpost.8 does not document '$line'"
	fi
done <"$T/all"

# Every long option a command's --help names is in the page too.
while read -r line; do
	# shellcheck disable=SC2086  # "tenant add" is two words
	"$OUTPOST" $line --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u | while read -r opt; do
		case $line:$opt in supervise:*) continue ;; esac # its options live in --help and supervise.json
		grep -qF -- "$opt" "$T/page" || echo "$line $opt"
	done
done <"$T/all" >"$T/missing"
if [ -s "$T/missing" ]; then
	not_ok "options missing from outpost.8: $(tr '\n' ',' <"$T/missing")"
else
	ok "every option of every command's --help is in outpost.8"
fi
finish
