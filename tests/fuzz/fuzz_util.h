/*
 * fuzz_util.h - shared by the libFuzzer targets of tests/fuzz/ (make fuzz):
 * the library reads files, so each input is written to one first.
 */
#ifndef SUL_FUZZ_UTIL_H
#define SUL_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to a file of this process named with suffix (".cfg",
 * ".nii.gz", ...) under $TMPDIR, the same name every call; returns it. */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);

#endif
