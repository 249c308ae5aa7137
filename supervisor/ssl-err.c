#include "ssl-err.h"

#include <openssl/err.h>

const char *ssl_err_text(void)
{
	unsigned long code = ERR_get_error();
	static _Thread_local char buf[256];

	if (!code)
		return "OpenSSL error";
	ERR_error_string_n(code, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}
