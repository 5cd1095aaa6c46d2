/*
 * dn.c - finds and loads sulcus-darknet.so (see dn.h) in a stage process.
 *
 * Looked for in $SULCUS_DARKNET, then beside the executable (the build
 * folder holds both sulcus and the library).  RTLD_LOCAL keeps Darknet's
 * unprefixed names (error, gemm, ...) out of the global namespace; within
 * the library's own scope ours come first, which is how its gemm() and
 * friends replace Darknet's (see stages/dn/blas.c).
 */
#include "dn.h"

#include "../engine/fsutil.h"
#include "../engine/strbuf.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sul_dn_api *loaded[2];

static char *beside_executable(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return sul_xasprintf("%s/%s", exe, name);
}

const struct sul_dn_api *sul_dn_load(int gpu, struct sul_err *err)
{
	const char *name = gpu ? "sulcus-darknet-gpu.so" : "sulcus-darknet.so";
	const char *env = getenv(gpu ? "SULCUS_DARKNET_GPU" : "SULCUS_DARKNET");
	const struct sul_dn_api *(*entry)(void);
	const struct sul_dn_api *api;
	char *path;
	void *h;

	if (loaded[!!gpu])
		return loaded[!!gpu];
	path = env && *env ? sul_xstrdup(env) : beside_executable(name);
	if (!path || !sul_path_exists(path)) {
		sul_err_set(err, SUL_ERR_FAIL, "cannot find %s (looked at %s)%s", name, path ? path : "(unknown)",
			    gpu ? ": build it with `make GPU=1`" : ": build it with `make`");
		free(path);
		return NULL;
	}
	/* OpenBLAS's threads and our OpenMP loops take turns on the same cores.
	 * Each pool's default is to spin (libgomp) or sched_yield (OpenBLAS)
	 * between its parallel regions, which starves the other: measured on 2
	 * cores, resnet18 training at 224 goes from 3.8 to 7-8 images/s with
	 * both told to sleep soon.  Both read these when they load, which is in
	 * the dlopen() below; a user's own settings win. */
	setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
	setenv("OPENBLAS_THREAD_TIMEOUT", "8", 0);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		sul_err_set(err, SUL_ERR_FAIL, "cannot load %s: %s", path, dlerror());
		free(path);
		return NULL;
	}
	*(void **)&entry = dlsym(h, "sul_dn_api_get");
	if (!entry) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: no sul_dn_api_get(): not a sulcus Darknet library", path);
		free(path);
		return NULL;
	}
	api = entry();
	if (api->abi != SUL_DN_ABI) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: interface version %d, this sulcus needs %d: rebuild with `make`",
			    path, api->abi, SUL_DN_ABI);
		free(path);
		return NULL;
	}
	free(path);
	loaded[!!gpu] = api;
	return api;
}
