/* Apart from util.c so that a program needing only the file helpers (the
 * supervisor, see supervise-main.c) does not link OpenSSL. */
#include "util.h"

#include <limits.h>

#include <openssl/rand.h>

int util_random_bytes(void *buf, size_t len, struct err *e)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		return err_set(e, EXIT_RUNTIME, "random: OpenSSL's generator failed");
	return 0;
}
