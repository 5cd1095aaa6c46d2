/*
 * shim.h - what the files of sulcus-darknet.so (stages/dn/) share with one
 * another.  The library's public face is stages/dn.h; nothing here is
 * exported from it.
 */
#ifndef SUL_DN_SHIM_H
#define SUL_DN_SHIM_H

#include <darknet.h>

/* blas.c: OpenBLAS and OpenMP threads; <= 0: every core. */
void sul_dn_set_threads(int threads);

/* layers.c: installs the corrected layer functions on a parsed network. */
void sul_dn_fix_layers(network *net);

#endif
