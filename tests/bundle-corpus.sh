#!/bin/sh
# Every rule of bundle/FORMAT.md section 6 has a bad bundle, written by an
# independent implementation (tests/bundle-gen.py). Each one is refused by
# both `bundle verify` and `install` with a message naming the entry, and the
# target root (already holding a good install) is byte-for-byte unchanged
# afterwards, with no staging directory left behind.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/bundle-lib.sh"
skip_unless zstd
skip_unless helm
skip_unless openssl

make_keys "$T/keys"
make_keys "$T/other"
"$PYTHON3" "$top_srcdir/tests/bundle-gen.py" "$T/keys/bundle-signing.key" \
	"$T/other/bundle-signing.key" "$top_srcdir/charts/capacity.json" "$T/corpus"
n=$(grep -c . "$T/corpus/cases.tsv")
bad=$(grep -vc '^good-' "$T/corpus/cases.tsv")
if [ "$bad" -ge 20 ]; then ok "corpus has $bad bad bundles ($n cases)"; else not_ok "only $bad bad bundles"; fi

make_bundle "$T/good.bundle" 1.0.0 one
R="$T/root"
mkdir -p "$R"
expect_exit 0 "a good bundle installs" -- "$OUTPOST" install --bundle "$T/good.bundle" --root "$R" \
	--pubkey "$T/keys/bundle-signing.pub" --no-start --skip-preflight --quiet
PUB="$T/keys/bundle-signing.pub"

tab=$(printf '\t')
while IFS="$tab" read -r name expect; do
	b="$T/corpus/$name.bundle"
	case $name in
	good-*)
		expect_exit 0 "$name verifies" -- "$OUTPOST" bundle verify --quiet --pubkey "$PUB" "$b"
		continue ;;
	esac
	expect_exit 3 "$name: verify refuses" -- "$OUTPOST" bundle verify --quiet --pubkey "$PUB" "$b"
	expect_grep "^outpost: .*$expect" "$T/err" "$name: verify names it ($expect)"
	walk "$R" >"$T/before"
	expect_exit 3 "$name: install refuses" -- "$OUTPOST" install --bundle "$b" --root "$R" \
		--pubkey "$PUB" --no-start --skip-preflight --quiet
	expect_grep "^outpost: .*$expect" "$T/err" "$name: install names it"
	walk "$R" >"$T/after"
	if cmp -s "$T/before" "$T/after"; then ok "$name: root unchanged"; else
		not_ok "$name: root changed"; diff "$T/before" "$T/after" | head -20 | sed 's/^/# /' >&2; fi
	if ls -d "$R"/var/lib/outpost/staging.* >/dev/null 2>&1; then not_ok "$name: staging left"; else
		ok "$name: no staging left"; fi
done <"$T/corpus/cases.tsv"

# Links the manifest allows are created inside the extraction, nowhere else.
expect_exit 0 "good-links extracts" -- "$OUTPOST" bundle verify --quiet --pubkey "$PUB" \
	--extract "$T/x" "$T/corpus/good-links.bundle"
if [ "$(readlink "$T/x/data/alias.json")" = capacity.json ]; then ok "allowed symlink created"; else
	not_ok "allowed symlink missing"; fi
if [ "$(stat -c %i "$T/x/data/hard.json")" = "$(stat -c %i "$T/x/data/capacity.json")" ]; then
	ok "allowed hardlink created"; else not_ok "allowed hardlink missing"; fi
expect_exit 3 "--extract refuses an existing directory" -- "$OUTPOST" bundle verify --quiet \
	--pubkey "$PUB" --extract "$T/x" "$T/corpus/good-links.bundle"
# A bad bundle extracted with --extract leaves nothing either.
expect_exit 3 "--extract of a bad bundle fails" -- "$OUTPOST" bundle verify --quiet \
	--pubkey "$PUB" --extract "$T/y" "$T/corpus/hash-mismatch.bundle"
if [ -e "$T/y" ] || ls -d "$T"/staging.* >/dev/null 2>&1; then not_ok "--extract left files"; else
	ok "--extract of a bad bundle left nothing"; fi
finish
