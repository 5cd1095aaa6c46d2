/*
 * command.c - the built-in `command` kind: run a shell command.
 *
 * The command string is run with /bin/sh -c in the workflow file's folder.
 * Placeholders: {out} this stage's output folder, {in.ID} the output folder
 * of input stage ID, {params.NAME} a parameter of the stage (or of the
 * workflow).  Substituted values are shell-quoted when they need it.
 * stdout and stderr go to the stage's log.  A command stage accepts any
 * parameter names: they exist to be substituted, and are part of the key.
 */
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../engine/template.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct sul_param_spec command_keys[] = {
	{ "command", SUL_T_STRING, NULL, 0, 0, NULL,
	  "shell command; placeholders {out}, {in.ID}, {params.NAME}" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};


static int check_one(void *arg, const char *name, struct sul_buf *out, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = arg;
	size_t i;

	(void)out;
	if (!strcmp(name, "out"))
		return 1;
	if (!strncmp(name, "in.", 3)) {
		for (i = 0; i < ctx->ninputs; i++)
			if (!strcmp(ctx->inputs[i].id, name + 3))
				return 1;
		return sul_err_set(err, SUL_ERR_INPUT, "placeholder '{%s}': '%s' is not among the stage's inputs", name,
				   name + 3);
	}
	if (!strncmp(name, "params.", 7)) {
		if (sul_params_find(ctx->params, ctx->nparams, name + 7) >= 0)
			return 1;
		return sul_err_set(err, SUL_ERR_INPUT, "placeholder '{%s}': no parameter '%s'", name, name + 7);
	}
	return sul_err_set(err, SUL_ERR_INPUT,
			   "unknown placeholder '{%s}' (expected {out}, {in.ID} or {params.NAME}; write {{ for a "
			   "literal brace)",
			   name);
}

static int command_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	struct sul_buf scratch = SUL_BUF_INIT;
	int r;

	*about = "command";
	r = sul_template_expand(sul_ctx_key(ctx, "command")->s, 1, check_one, (void *)ctx, &scratch, err);
	sul_buf_release(&scratch);
	return r;
}

static int expand_one(void *vctx, const char *name, struct sul_buf *out, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = vctx;

	if (!strcmp(name, "out")) {
		sul_buf_add_shell_quoted(out, ctx->out);
		return 0;
	}
	if (!strncmp(name, "in.", 3)) {
		const char *dir = sul_ctx_input(ctx, name + 3);
		if (!dir)
			return sul_err_set(err, SUL_ERR_FAIL, "no input '%s'", name + 3);
		sul_buf_add_shell_quoted(out, dir);
		return 0;
	}
	if (!strncmp(name, "params.", 7)) {
		struct sul_buf text = SUL_BUF_INIT;
		const struct sul_value *v;
		long i = sul_params_find(ctx->params, ctx->nparams, name + 7);
		if (i < 0)
			return sul_err_set(err, SUL_ERR_FAIL, "no parameter '%s'", name + 7);
		v = &ctx->params[i].v;
		sul_value_text(v, &text);
		sul_buf_add_shell_quoted(out, text.buf);
		sul_buf_release(&text);
		return 0;
	}
	return sul_err_set(err, SUL_ERR_FAIL, "unknown placeholder '{%s}'", name);
}

static int command_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct sul_buf cmd = SUL_BUF_INIT;
	int status, ret = -1;
	pid_t pid;

	if (sul_template_expand(sul_ctx_key(ctx, "command")->s, 1, expand_one, (void *)ctx, &cmd, err))
		goto out;
	if (setenv("SULCUS_OUT", ctx->out, 1) || setenv("SULCUS_STAGE", ctx->id, 1)) {
		sul_err_sys(err, "setenv");
		goto out;
	}
	fflush(NULL);
	/* posix_spawn, not fork: the stage's process is a fork of the engine,
	 * whose page tables a fork would copy again for a shell that execs. */
	{
		char sh[] = "sh", dash_c[] = "-c";
		char *const argv[] = { sh, dash_c, cmd.buf, NULL };
		int e = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
		if (e) {
			errno = e;
			sul_err_sys(err, "cannot start /bin/sh");
			goto out;
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			sul_err_sys(err, "waitpid");
			goto out;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ret = 0;
	else if (WIFEXITED(status))
		sul_err_set(err, SUL_ERR_FAIL, "command exited with status %d", WEXITSTATUS(status));
	else
		sul_err_set(err, SUL_ERR_FAIL, "command killed by signal %d (%s)", WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
out:
	sul_buf_release(&cmd);
	return ret;
}

const struct sul_kind sul_kind_command = {
	.name = "command",
	.version = 1,
	.doc = "run a shell command (/bin/sh -c) in the workflow's folder",
	.keys = command_keys,
	.flags = SUL_KIND_FREE_PARAMS,
	.check = command_check,
	.run = command_run,
};
