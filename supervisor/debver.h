/* Version order as dpkg defines it (deb-version(7)): [epoch:]upstream[-revision],
 * digits compared as numbers, letters before other characters, '~' before
 * everything (even the end: 1.0~rc1 < 1.0). Bundle versions and the Outpost
 * package's version are both ordered this way, so "newer" means the same thing
 * to `outpost install` as to dpkg. */
#ifndef OUTPOST_DEBVER_H
#define OUTPOST_DEBVER_H

/* <0, 0 or >0 as a is older than, equal to or newer than b. */
int debver_cmp(const char *a, const char *b);

#define DEBVER_MAX 65

/* The version in a package file name `<package>_<version>_<arch>.deb` (the
 * name dpkg-buildpackage gives it), from the last component of `path`.
 * -EINVAL when the name does not have that form for `package`. */
int debver_of_package_file(const char *path, const char *package, char version[DEBVER_MAX]);

#endif
