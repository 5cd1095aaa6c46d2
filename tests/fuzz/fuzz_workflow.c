/*
 * fuzz_workflow.c - libFuzzer target: the workflow loader (libconfig, our
 * validation, placeholders, @include refused or resolved) and --set.
 *
 * An input is "SET\nSET\n...\0WORKFLOW": the lines before the first NUL
 * are --set arguments, the rest the workflow file; without a NUL it is all
 * workflow.  A load must succeed or fail with a message; anything else
 * (a crash, a leak, undefined behaviour) is what the sanitizers report.
 */
#include "fuzz_util.h"
#include "../../engine/workflow.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	const char *sets[16];
	char *head = NULL;
	size_t nsets = 0;
	struct sul_workflow wf;
	struct sul_err err = SUL_ERR_INIT;

	if (nul) {
		head = strndup((const char *)data, (size_t)(nul - data));
		for (char *save = NULL, *tok = strtok_r(head, "\n", &save); tok && nsets < 16;
		     tok = strtok_r(NULL, "\n", &save))
			sets[nsets++] = tok;
		size -= (size_t)(nul + 1 - data);
		data = nul + 1;
	}
	if (!sul_workflow_load(fuzz_file(data, size, ".cfg"), sets, nsets, &wf, &err))
		sul_workflow_release(&wf);
	else if (!err.msg[0])
		abort();  /* a failure must say why */
	free(head);
	return 0;
}
