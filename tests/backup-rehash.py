"""backup-rehash.py MANIFEST PART FILE: sets PART's sha256 in a backup's
manifest.json to FILE's, so a test can craft a part whose hash matches and
show that restore still refuses what the part holds."""
import hashlib
import json
import sys

manifest, name, path = sys.argv[1:4]
with open(manifest) as f:
    m = json.load(f)
with open(path, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()
for part in m["parts"]:
    if part["name"] == name:
        part["sha256"] = digest
with open(manifest, "w") as f:
    json.dump(m, f)
