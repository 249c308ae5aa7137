/* See util.h. */
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>

int util_sha256_fd(int fd, char hex[65], long long *size, struct err *e)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], sum[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	off_t off = 0;
	ssize_t r;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return err_set(e, EXIT_RUNTIME, "SHA-256: cannot start");
	}
	while ((r = pread(fd, buf, sizeof(buf), off)) > 0 || (r < 0 && errno == EINTR)) {
		if (r > 0 && !EVP_DigestUpdate(md, buf, (size_t)r))
			break;
		off += r > 0 ? r : 0;
	}
	if (r != 0 || !EVP_DigestFinal_ex(md, sum, &n) || n != 32) {
		int errnum = r < 0 ? errno : 0;

		EVP_MD_CTX_free(md);
		return errnum ? err_errno(e, errnum, "read") : err_set(e, EXIT_RUNTIME, "SHA-256 failed");
	}
	EVP_MD_CTX_free(md);
	util_hex(sum, n, hex);
	*size = (long long)off;
	return 0;
}
