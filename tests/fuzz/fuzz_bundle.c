/* libFuzzer target for the bundle reader: the manifest parser and the archive
 * walk behind a valid signature. Input: 2 bytes big-endian manifest length,
 * the manifest, then raw tar bytes for the payload. The harness wraps them
 * in manifest.json + a real Ed25519 signature (every 64-'0' key_id in the
 * manifest becomes the harness key's id), compresses with zstd and runs
 * bundle_open + bundle_extract, alternately verifying only and extracting
 * into a scratch directory. Built by `make fuzz` only. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "log.h"
#include "manifest.h"
#include "sign.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;
static char keyid[65], keydir[] = "/tmp/outpost-fuzz-keys.XXXXXX", pubpath[128];

static void remove_keys(void)
{
	struct err e;

	bundle_remove_tree(keydir, &e);
}

static void init(void)
{
	struct err e;
	char priv[160];

	if (key)
		return;
	log_init("fuzz", LOG_EMERG);
	if (!mkdtemp(keydir) || sign_keygen(keydir, keyid, &e) < 0)
		abort();
	atexit(remove_keys);
	snprintf(priv, sizeof(priv), "%s/bundle-signing.key", keydir);
	snprintf(pubpath, sizeof(pubpath), "%s/bundle-signing.pub", keydir);
	if (sign_load_private(priv, &key, &e) < 0)
		abort();
}

/* A minimal ustar header for a regular file. */
static void ustar(unsigned char *h, const char *name, size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static size_t put_member(unsigned char *out, const char *name, const void *d, size_t n)
{
	size_t pad = (512 - n % 512) % 512;

	ustar(out, name, n);
	memcpy(out + 512, d, n);
	memset(out + 512 + n, 0, pad);
	return 512 + n + pad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned iter;
	struct archive *a;
	struct bundle *b = NULL;
	struct err e;
	unsigned char sig[64], *tar;
	char *man, path[64], dir[] = "/tmp/outpost-fuzz-x.XXXXXX";
	size_t mlen, used = 0, zcap, zlen = 0;
	void *z;
	int fd;

	init();
	if (size < 2)
		return 0;
	mlen = (size_t)data[0] << 8 | data[1];
	if (mlen > size - 2)
		mlen = size - 2;
	man = malloc(mlen + 1);
	memcpy(man, data + 2, mlen);
	man[mlen] = '\0';
	for (char *p = man; (p = memmem(p, mlen - (size_t)(p - man), "0000000000000000000000000000000000000000000000000000000000000000", 64));)
		memcpy(p, keyid, 64);
	if (sign_data(key, man, mlen, sig, &e) < 0)
		abort();
	tar = malloc(mlen + 64 + (size - 2 - mlen) + 4096);
	used += put_member(tar + used, "manifest.json", man, mlen);
	used += put_member(tar + used, "manifest.json.sig", sig, 64);
	memcpy(tar + used, data + 2 + mlen, size - 2 - mlen);
	used += size - 2 - mlen;
	free(man);

	/* zstd through libarchive's raw writer: the bytes go through unchanged. */
	zcap = used + 4096;
	z = malloc(zcap);
	a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_zstd(a);
	archive_write_set_filter_option(a, "zstd", "compression-level", "1");
	archive_write_open_memory(a, z, zcap, &zlen);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_pathname(ent, "x");
	archive_write_header(a, ent);
	archive_write_data(a, tar, used);
	archive_entry_free(ent);
	archive_write_close(a);
	archive_write_free(a);
	free(tar);

	fd = memfd_create("bundle", MFD_CLOEXEC);
	if (fd < 0 || write(fd, z, zlen) != (ssize_t)zlen)
		abort();
	free(z);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (bundle_open(path, pubpath, &b, &e) == 0) {
		if (iter++ % 2 == 0) {
			bundle_extract(b, -1, 1, &e);
		} else if (mkdtemp(dir)) {
			int dfd = open(dir, O_RDONLY | O_DIRECTORY);
			bundle_extract(b, dfd, 1, &e);
			close(dfd);
			bundle_remove_tree(dir, &e);
		}
		bundle_close(b);
	}
	close(fd);
	return 0;
}
