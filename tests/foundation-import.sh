#!/bin/sh
# tenant import / export: JSON lines, all or nothing, every bad line reported
# with its number, and export's output imports back to the same tenants.
. "$top_srcdir/tests/lib.sh"

export OUTPOST_STATE="$T/state.db"
printf '{"cpu_millicores": 32000, "memory_mib": 131072, "disk_gib": 1000}\n' >"$T/big.json"
export OUTPOST_PROFILE="$T/big.json"
sum() { sha256sum "$OUTPOST_STATE" | cut -d' ' -f1; }

expect_exit 0 "seed one tenant" -- "$OUTPOST" tenant add acme --host acme.example.com

cat >"$T/bad.jsonl" <<'JSON'
{"name": "one", "host": "one.example.com"}
{"name": "Two", "host": "two.example.com"}

{"name": "three", "host": 
{"name": "four", "host": "one.example.com"}
{"name": "acme", "host": "acme2.example.com"}
{"name": "five", "host": "five.example.com", "colour": "red"}
{"name": "six", "host": "six.example.com", "plan": "medium", "values": {"a..b": "x"}}
{"name": "seven", "host": "seven.example.com", "app": {"chart": "wordpress", "version": "6.4.2"}}
JSON
before=$(sum)
expect_exit 3 "an import with bad lines is refused" -- "$OUTPOST" tenant import "$T/bad.jsonl"
expect_grep "bad.jsonl:2: name 'Two': must be a DNS-1123 label" "$T/err" "line 2: bad name"
expect_grep "bad.jsonl:4: not JSON" "$T/err" "line 4: not JSON"
expect_grep "bad.jsonl:5: host 'one.example.com': already used by tenant 'one'" "$T/err" "line 5: host taken by line 1"
expect_grep "bad.jsonl:6: name 'acme': a tenant of that name exists" "$T/err" "line 6: name taken in the store"
expect_grep "bad.jsonl:7: field 'colour': unknown" "$T/err" "line 7: unknown field"
expect_grep "bad.jsonl:8: set key 'a..b'" "$T/err" "line 8: bad key"
expect_grep "bad.jsonl: 6 bad lines; nothing imported" "$T/err" "the summary counts them"
expect_true "exactly the six bad lines are reported" -- [ "$(grep -c 'bad.jsonl:[0-9]' "$T/err")" -eq 6 ]
expect_true "database unchanged" -- [ "$(sum)" = "$before" ]
expect_exit 0 "list" -- "$OUTPOST" tenant list
if grep -q '^one ' "$T/out"; then not_ok "no line of the refused file was imported"; else ok "no line of the refused file was imported"; fi

cat >"$T/good.jsonl" <<'JSON'
{"name": "one", "host": "one.example.com"}
{"name": "two", "host": "two.example.com", "plan": "large", "suspended": true}

{"name": "three", "host": "three.example.com", "app": {"chart": "wordpress", "version": null}, "values": {"image.tag": "1.2", "replicaCount": "2"}}
JSON
expect_exit 0 "a good import" -- "$OUTPOST" tenant import "$T/good.jsonl"
expect_grep "imported 3 tenants" "$T/out" "it says how many"
expect_exit 0 "export" -- "$OUTPOST" tenant export
cp "$T/out" "$T/export1.jsonl"
expect_true "export has one line per tenant" -- [ "$(wc -l <"$T/export1.jsonl")" -eq 4 ]
expect_grep '^{"name":"three","host":"three.example.com","plan":"small","app":{"chart":"wordpress","version":null},"values":{"image.tag":"1.2","replicaCount":"2"},"suspended":false}$' "$T/export1.jsonl" "export line shape"

expect_exit 0 "export imports into a fresh store (from stdin)" -- sh -c "OUTPOST_STATE='$T/copy.db' '$OUTPOST' tenant import - <'$T/export1.jsonl'"
expect_exit 0 "export the copy" -- env OUTPOST_STATE="$T/copy.db" "$OUTPOST" tenant export
expect_true "export -> import -> export is identical" -- cmp -s "$T/out" "$T/export1.jsonl"

# Over capacity on the reference box: refused as a whole, nothing written.
printf '{"cpu_millicores": 8000, "memory_mib": 16384, "disk_gib": 100}\n' >"$T/ref.json"
: >"$T/many.jsonl"
for i in $(seq 13); do echo "{\"name\": \"t$i\", \"host\": \"t$i.example.com\"}" >>"$T/many.jsonl"; done
rm -f "$T/ref.db"
expect_exit 0 "create an empty store" -- env OUTPOST_STATE="$T/ref.db" OUTPOST_PROFILE="$T/ref.json" "$OUTPOST" tenant import /dev/null
before=$(sha256sum "$T/ref.db" | cut -d' ' -f1)
expect_exit 3 "an import over capacity is refused" -- env OUTPOST_STATE="$T/ref.db" OUTPOST_PROFILE="$T/ref.json" "$OUTPOST" tenant import "$T/many.jsonl"
expect_grep "nothing imported: capacity: tenants' CPU limits would need 6500m, 6000m is available" "$T/err" "it names the resource"
expect_true "database unchanged" -- [ "$(sha256sum "$T/ref.db" | cut -d' ' -f1)" = "$before" ]
expect_exit 1 "a missing import file" -- "$OUTPOST" tenant import "$T/nosuch.jsonl"
expect_grep "tenant import: open $T/nosuch.jsonl: No such file" "$T/err" "names the file"
expect_exit 2 "import without FILE" -- "$OUTPOST" tenant import
finish
