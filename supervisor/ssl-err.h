/* The text of OpenSSL's oldest queued error, for error messages. */
#ifndef OUTPOST_SSL_ERR_H
#define OUTPOST_SSL_ERR_H

/* The reason of the first error on this thread's OpenSSL error queue (or
 * "OpenSSL error" when it is empty); clears the queue. The text lives until
 * the next call on the same thread. */
const char *ssl_err_text(void);

#endif
