/*
 * dnload.c - finds and loads sulcus-darknet.so (see dn.h) in a stage process.
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
	/* One pool of threads does everything: oneDNN, OpenBLAS (Debian's
	 * OpenMP build, see the Makefile) and our loops all run on libgomp's.
	 * How long its threads spin between parallel regions before they
	 * sleep decides the speed of networks of many small layers: tiny_gap
	 * training on 2 cores, 2,700 images/s sleeping at once, 4,600 after
	 * 1,000 spins, about the same after libgomp's default 300,000 (~3 ms).
	 * But the default makes stages that share cores (sulcus run -j 2 with
	 * two 2-thread stages on 2 cores) 12x slower (t6006: 78 s, not 6 s),
	 * and 1,000 spins cost them nothing.  Read when libgomp loads, in the
	 * dlopen() below; OMP_WAIT_POLICY or GOMP_SPINCOUNT of the user's win. */
	if (!getenv("OMP_WAIT_POLICY"))
		setenv("GOMP_SPINCOUNT", "1000", 0);
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
