#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "debver.h"
#include "util.h"

static const char *const roles[] = {
	"k3s-binary", "k3s-images", "images", "chart", "app-chart", "manifest",
	"platform", "capacity", "key", "unit", "lock", "doc", "outpost-package",
};

int manifest_role_ok(const char *role)
{
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (!strcmp(role, roles[i]))
			return 1;
	return 0;
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int manifest_version_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || !is_alnum(s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("._+-", s[i]))
			return 0;
	return 1;
}

/* One rule set for member names and link targets; `dotdot` admits ".." (symlink targets). */
static int path_check(const char *path, int dotdot, const char **why)
{
	size_t n = strlen(path), comp = 0;

	if (n == 0 || n > MANIFEST_PATH_MAX)
		return *why = "empty or longer than 255 bytes", 0;
	if (path[0] == '/')
		return *why = "absolute path", 0;
	if (path[n - 1] == '/')
		return *why = "ends with '/'", 0;
	for (const char *p = path; ; p++) {
		if (*p == '/' || *p == '\0') {
			const char *start = p - comp;
			if (comp == 0)
				return *why = "empty path component", 0;
			if (comp > 100)
				return *why = "component longer than 100 bytes", 0;
			if (comp == 1 && start[0] == '.')
				return *why = "'.' component", 0;
			if (comp == 2 && start[0] == '.' && start[1] == '.' && !dotdot)
				return *why = "'..' component", 0;
			if (start[0] == '-')
				return *why = "component starts with '-'", 0;
			if (*p == '\0')
				break;
			comp = 0;
			continue;
		}
		if (!is_alnum(*p) && !strchr("._+@-", *p))
			return *why = "character outside [A-Za-z0-9._+@-/]", 0;
		comp++;
	}
	return 1;
}

int manifest_path_ok(const char *path, const char **why)
{
	if (!path_check(path, 0, why))
		return 0;
	if (!strcmp(path, MANIFEST_NAME) || !strcmp(path, MANIFEST_SIG_NAME))
		return *why = "reserved name", 0;
	return 1;
}

static int cmp_file(const void *key, const void *elem)
{
	return strcmp(key, ((const struct manifest_file *)elem)->path);
}

static int cmp_link(const void *key, const void *elem)
{
	return strcmp(key, ((const struct manifest_link *)elem)->path);
}

struct manifest_file *manifest_find(const struct manifest *m, const char *path)
{
	if (!m->nfiles)
		return NULL;
	return bsearch(path, m->files, m->nfiles, sizeof(m->files[0]), cmp_file);
}

struct manifest_link *manifest_find_link(const struct manifest *m, const char *path)
{
	if (!m->nlinks)
		return NULL;
	return bsearch(path, m->links, m->nlinks, sizeof(m->links[0]), cmp_link);
}

const struct manifest_file *manifest_find_role(const struct manifest *m, const char *role)
{
	for (size_t i = 0; i < m->nfiles; i++)
		if (!strcmp(m->files[i].role, role))
			return &m->files[i];
	return NULL;
}

int manifest_is_dir(const struct manifest *m, const char *name)
{
	size_t len = strlen(name);

	/* Both lists are sorted, so the first path not below "name/" (a lower
	 * bound search) is the only candidate for "name/...". */
	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? m->nlinks : m->nfiles, lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const char *p = pass ? m->links[mid].path : m->files[mid].path;
			int c = strncmp(p, name, len);
			if (c < 0 || (c == 0 && (unsigned char)p[len] < '/'))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n) {
			const char *p = pass ? m->links[lo].path : m->files[lo].path;
			if (!strncmp(p, name, len) && p[len] == '/')
				return 1;
		}
	}
	return 0;
}

static int hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = hex[i];
		int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

static int created_ok(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SSZ */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	int mon = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
	int hh = (s[11] - '0') * 10 + (s[12] - '0'), mm = (s[14] - '0') * 10 + (s[15] - '0');
	int ss = (s[17] - '0') * 10 + (s[18] - '0');
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31 && hh < 24 && mm < 60 && ss < 61;
}

/* Every object must have exactly the listed keys. */
static int keys_exact(json_t *obj, const char *const *keys, size_t nreq, size_t nopt,
		      const char *where, struct err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s is not an object", where);
	json_object_foreach(obj, k, v) {
		size_t i;
		(void)v;
		for (i = 0; i < nreq + nopt; i++)
			if (!strcmp(k, keys[i]))
				break;
		if (i == nreq + nopt)
			return err_set(e, EXIT_REFUSED, "manifest.json: %s: unknown key '%s'", where, k);
	}
	for (size_t i = 0; i < nreq; i++)
		if (!json_object_get(obj, keys[i]))
			return err_set(e, EXIT_REFUSED, "manifest.json: %s: missing key '%s'", where,
				       keys[i]);
	return 0;
}

static int get_str(json_t *obj, const char *key, char *out, size_t cap, int (*ok)(const char *),
		   const char *where, struct err *e)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v) || strlen(s) >= cap || (ok && !ok(s)))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: bad '%s'", where, key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int key_id_ok(const char *s)
{
	unsigned char raw[32];
	return hex_decode(s, raw, sizeof(raw)) == 0;
}

static json_t *load(const char *buf, size_t len, struct err *e)
{
	json_error_t je;
	json_t *root;

	if (len > MANIFEST_MAX_BYTES) {
		err_set(e, EXIT_REFUSED, "manifest.json: larger than %u bytes", MANIFEST_MAX_BYTES);
		return NULL;
	}
	/* JSON_REJECT_DUPLICATES: two "sha256" keys would let a reader and a
	 * signer disagree about which one counts. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_set(e, EXIT_REFUSED, "manifest.json: line %d column %d: %s", je.line, je.column,
			je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(e, EXIT_REFUSED, "manifest.json: not a JSON object");
		return NULL;
	}
	return root;
}

int manifest_key_id(const char *buf, size_t len, char id[65], struct err *e)
{
	json_t *root = load(buf, len, e);
	int rc;

	if (!root)
		return -1;
	rc = get_str(root, "key_id", id, 65, key_id_ok, "top level", e);
	json_decref(root);
	return rc;
}

static int parse_file(json_t *o, size_t i, struct manifest_file *f, struct err *e)
{
	static const char *const keys[] = { "path", "role", "size", "mode", "sha256" };
	char where[64], mode[8], sha[65];
	const char *why = NULL, *path;
	json_t *size;

	snprintf(where, sizeof(where), "files[%zu]", i);
	if (keys_exact(o, keys, 5, 0, where, e) < 0)
		return -1;
	path = json_string_value(json_object_get(o, "path"));
	if (!path || strlen(path) != json_string_length(json_object_get(o, "path")))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: bad 'path'", where);
	if (!manifest_path_ok(path, &why))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: path '%s': %s", where, path, why);
	if (get_str(o, "role", f->role, sizeof(f->role), manifest_role_ok, path, e) < 0 ||
	    get_str(o, "mode", mode, sizeof(mode), NULL, path, e) < 0 ||
	    get_str(o, "sha256", sha, sizeof(sha), NULL, path, e) < 0)
		return -1;
	if (strlen(mode) != 4 || mode[0] != '0' || strspn(mode, "01234567") != 4)
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: mode '%s' is not 0000-0777", path,
			       mode);
	f->mode = (unsigned)strtoul(mode, NULL, 8);
	if (hex_decode(sha, f->sha256, sizeof(f->sha256)) < 0)
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: sha256 is not 64 lowercase hex digits",
			       path);
	size = json_object_get(o, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0 ||
	    json_integer_value(size) > (json_int_t)((1ULL << 53) - 1))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: bad 'size'", path);
	f->size = (uint64_t)json_integer_value(size);
	f->path = strdup(path);
	if (!f->path)
		return err_set(e, EXIT_RUNTIME, "manifest.json: out of memory");
	return 0;
}

/* Lexically resolves a symlink target against the link's directory; the
 * result must stay inside the bundle. Writes the resolved name into out. */
static int resolve_target(const char *link, const char *target, char *out, size_t cap)
{
	char buf[2 * MANIFEST_PATH_MAX + 2];
	size_t n = 0;
	const char *slash = strrchr(link, '/');

	if (slash) {
		n = (size_t)(slash - link);
		memcpy(buf, link, n);
	}
	buf[n] = '\0';
	for (const char *p = target; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n == 0)
				return -1; /* above the bundle root */
			char *up = memrchr(buf, '/', n);
			n = up ? (size_t)(up - buf) : 0;
			buf[n] = '\0';
		} else {
			if (n)
				buf[n++] = '/';
			memcpy(buf + n, p, len);
			n += len;
			buf[n] = '\0';
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (n == 0 || n >= cap)
		return -1;
	memcpy(out, buf, n + 1);
	return 0;
}

static int parse_link(json_t *o, size_t i, const struct manifest *m, struct manifest_link *l,
		      struct err *e)
{
	static const char *const keys[] = { "path", "type", "target" };
	char where[64], resolved[2 * MANIFEST_PATH_MAX + 2];
	const char *why = NULL, *path, *type, *target;

	snprintf(where, sizeof(where), "links[%zu]", i);
	if (keys_exact(o, keys, 3, 0, where, e) < 0)
		return -1;
	path = json_string_value(json_object_get(o, "path"));
	type = json_string_value(json_object_get(o, "type"));
	target = json_string_value(json_object_get(o, "target"));
	if (!path || !type || !target || strlen(path) != json_string_length(json_object_get(o, "path")) ||
	    strlen(target) != json_string_length(json_object_get(o, "target")))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: path, type and target must be strings",
			       where);
	if (!manifest_path_ok(path, &why))
		return err_set(e, EXIT_REFUSED, "manifest.json: %s: path '%s': %s", where, path, why);
	if (!strcmp(type, "symlink")) {
		l->type = MANIFEST_SYMLINK;
		if (!path_check(target, 1, &why))
			return err_set(e, EXIT_REFUSED, "manifest.json: link %s: target '%s': %s", path,
				       target, why);
		if (resolve_target(path, target, resolved, sizeof(resolved)) < 0)
			return err_set(e, EXIT_REFUSED,
				       "manifest.json: link %s: target '%s' leaves the bundle", path, target);
	} else if (!strcmp(type, "hardlink")) {
		l->type = MANIFEST_HARDLINK;
		if (!manifest_path_ok(target, &why))
			return err_set(e, EXIT_REFUSED, "manifest.json: link %s: target '%s': %s", path,
				       target, why);
		snprintf(resolved, sizeof(resolved), "%s", target);
	} else {
		return err_set(e, EXIT_REFUSED, "manifest.json: link %s: type '%s' is not symlink or hardlink",
			       path, type);
	}
	if (!manifest_find(m, resolved))
		return err_set(e, EXIT_REFUSED, "manifest.json: link %s: target '%s' is not a file of the bundle",
			       path, target);
	if (manifest_find(m, path))
		return err_set(e, EXIT_REFUSED, "manifest.json: link %s is also listed as a file", path);
	l->path = strdup(path);
	l->target = strdup(target);
	if (!l->path || !l->target)
		return err_set(e, EXIT_RUNTIME, "manifest.json: out of memory");
	return 0;
}

static int check_sorted(const char *prev, const char *cur, const char *what, struct err *e)
{
	int c = strcmp(prev, cur);

	if (c == 0)
		return err_set(e, EXIT_REFUSED, "manifest.json: %s '%s' is listed twice", what, cur);
	if (c > 0)
		return err_set(e, EXIT_REFUSED, "manifest.json: %s '%s' is out of order (paths must be sorted)",
			       what, cur);
	return 0;
}

int manifest_parse(const char *buf, size_t len, struct manifest *m, struct err *e)
{
	static const char *const keys[] = { "format", "bundle_version", "k3s_version", "created",
					    "key_id", "files", "links" };
	json_t *root, *files, *links, *fmt;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	root = load(buf, len, e);
	if (!root)
		return -1;
	if (keys_exact(root, keys, 6, 1, "top level", e) < 0)
		goto out;
	fmt = json_object_get(root, "format");
	if (!json_is_integer(fmt) || json_integer_value(fmt) != MANIFEST_FORMAT) {
		err_set(e, EXIT_REFUSED, "manifest.json: format is not %d", MANIFEST_FORMAT);
		goto out;
	}
	m->format = MANIFEST_FORMAT;
	if (get_str(root, "bundle_version", m->bundle_version, sizeof(m->bundle_version),
		    manifest_version_ok, "top level", e) < 0 ||
	    get_str(root, "k3s_version", m->k3s_version, sizeof(m->k3s_version), manifest_version_ok,
		    "top level", e) < 0 ||
	    get_str(root, "created", m->created, sizeof(m->created), created_ok, "top level", e) < 0 ||
	    get_str(root, "key_id", m->key_id, sizeof(m->key_id), key_id_ok, "top level", e) < 0)
		goto out;
	files = json_object_get(root, "files");
	links = json_object_get(root, "links");
	if (!json_is_array(files) || json_array_size(files) > MANIFEST_MAX_FILES ||
	    (links && (!json_is_array(links) || json_array_size(links) > MANIFEST_MAX_FILES))) {
		err_set(e, EXIT_REFUSED, "manifest.json: files/links must be arrays of at most %d entries",
			MANIFEST_MAX_FILES);
		goto out;
	}
	m->files = calloc(json_array_size(files) + 1, sizeof(*m->files));
	m->links = calloc(json_array_size(links) + 1, sizeof(*m->links));
	if (!m->files || !m->links) {
		err_set(e, EXIT_RUNTIME, "manifest.json: out of memory");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(files); i++) {
		if (parse_file(json_array_get(files, i), i, &m->files[i], e) < 0)
			goto out;
		m->nfiles++;
		if (i && check_sorted(m->files[i - 1].path, m->files[i].path, "file", e) < 0)
			goto out;
	}
	for (size_t i = 0; i < json_array_size(links); i++) {
		if (parse_link(json_array_get(links, i), i, m, &m->links[i], e) < 0)
			goto out;
		m->nlinks++;
		if (i && check_sorted(m->links[i - 1].path, m->links[i].path, "link", e) < 0)
			goto out;
	}
	/* A name is a file or a directory, never both ("a" and "a/b"). */
	for (size_t i = 0; i < m->nfiles + m->nlinks; i++) {
		const char *p = i < m->nfiles ? m->files[i].path : m->links[i - m->nfiles].path;
		if (manifest_is_dir(m, p)) {
			err_set(e, EXIT_REFUSED, "manifest.json: '%s' is both a file and a directory", p);
			goto out;
		}
	}
	if (!manifest_find_role(m, "k3s-binary")) {
		err_set(e, EXIT_REFUSED, "manifest.json: no file with role k3s-binary");
		goto out;
	}
	{
		static const char *const unique[] = { "k3s-binary", "platform", "capacity", "unit",
						      "outpost-package" };
		for (size_t r = 0; r < ARRAY_SIZE(unique); r++) {
			size_t count = 0;
			for (size_t i = 0; i < m->nfiles; i++)
				count += !strcmp(m->files[i].role, unique[r]);
			if (count > 1) {
				err_set(e, EXIT_REFUSED, "manifest.json: more than one file with role %s",
					unique[r]);
				goto out;
			}
		}
	}
	/* The installer compares the package's version before extracting it. */
	for (size_t i = 0; i < m->nfiles; i++) {
		char v[DEBVER_MAX];
		if (!strcmp(m->files[i].role, "outpost-package") &&
		    debver_of_package_file(m->files[i].path, "outpost", v) < 0) {
			err_set(e, EXIT_REFUSED,
				"manifest.json: '%s' (role outpost-package) is not named "
				"outpost_<version>_<arch>.deb",
				m->files[i].path);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		manifest_free(m);
	return rc;
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	for (size_t i = 0; i < m->nlinks; i++) {
		free(m->links[i].path);
		free(m->links[i].target);
	}
	free(m->files);
	free(m->links);
	memset(m, 0, sizeof(*m));
}

char *manifest_serialize(const struct manifest *m, size_t *len)
{
	json_t *root = json_object(), *files = json_array(), *links = NULL;
	char *out = NULL, mode[8], sha[65];

	if (!root || !files)
		goto out;
	json_object_set_new(root, "format", json_integer(m->format));
	json_object_set_new(root, "bundle_version", json_string(m->bundle_version));
	json_object_set_new(root, "k3s_version", json_string(m->k3s_version));
	json_object_set_new(root, "created", json_string(m->created));
	json_object_set_new(root, "key_id", json_string(m->key_id));
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		json_t *o = json_object();
		snprintf(mode, sizeof(mode), "%04o", f->mode);
		util_hex(f->sha256, sizeof(f->sha256), sha);
		json_object_set_new(o, "path", json_string(f->path));
		json_object_set_new(o, "role", json_string(f->role));
		json_object_set_new(o, "size", json_integer((json_int_t)f->size));
		json_object_set_new(o, "mode", json_string(mode));
		json_object_set_new(o, "sha256", json_string(sha));
		json_array_append_new(files, o);
	}
	json_object_set(root, "files", files);
	if (m->nlinks) {
		links = json_array();
		for (size_t i = 0; i < m->nlinks; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "path", json_string(m->links[i].path));
			json_object_set_new(o, "type", json_string(m->links[i].type == MANIFEST_SYMLINK
									   ? "symlink" : "hardlink"));
			json_object_set_new(o, "target", json_string(m->links[i].target));
			json_array_append_new(links, o);
		}
		json_object_set(root, "links", links);
	}
	out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (out) {
		/* The canonical form ends with a newline. */
		size_t n = strlen(out);
		char *nl = realloc(out, n + 2);
		if (!nl) {
			free(out);
			out = NULL;
			goto out;
		}
		out = nl;
		out[n] = '\n';
		out[n + 1] = '\0';
		*len = n + 1;
	}
out:
	json_decref(files);
	json_decref(links);
	json_decref(root);
	return out;
}
