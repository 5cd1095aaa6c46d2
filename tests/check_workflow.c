/* check_workflow.c - parsing, foreach, overrides, and every validation error. */
#include "check_util.h"
#include "../engine/schema.h"
#include "../engine/workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir();
}

static void teardown(void)
{
	tu_cleanup();
}

/* Loads text as DIR/w.cfg; returns the error message ("" on success). */
static const char *load(const char *text, const char *const *sets, size_t nsets, struct sul_workflow *wf)
{
	static struct sul_err err;
	const char *path = tu_write(dir, "w.cfg", text);
	char shown[4096];

	sul_err_clear(&err);
	snprintf(shown, sizeof(shown), "%s", path);
	if (sul_workflow_load(shown, sets, nsets, wf, &err))
		return err.msg;
	return "";
}

/* Expects a load error; returns it with the "DIR/" prefix removed. */
static const char *load_fail(const char *text, const char *const *sets, size_t nsets)
{
	struct sul_workflow wf;
	static char shown[SUL_ERR_MSG_MAX];
	const char *msg = load(text, sets, nsets, &wf), *p;
	size_t len = strlen(dir), n = 0;

	ck_assert_msg(*msg, "expected an error for:\n%s", text);
	/* Show file names relative to the test folder. */
	for (p = msg; *p && n < sizeof(shown) - 1;) {
		if (!strncmp(p, dir, len) && p[len] == '/')
			p += len + 1;
		else
			shown[n++] = *p++;
	}
	shown[n] = '\0';
	return shown;
}

START_TEST(parses_stages_and_params)
{
	struct sul_workflow wf;
	const struct sul_stage *b;

	ck_assert_str_eq(load("name = \"w\";\n"
			      "params = { lr = 0.1; };\n"
			      "stages = (\n"
			      "  { id = \"a\"; kind = \"command\"; command = \"echo {params.lr} > {out}/x\"; },\n"
			      "  { id = \"b\"; kind = \"command\"; inputs = [\"a\"]; params = { n = 2; s = \"{params.lr}\"; };\n"
			      "    files = [\"data\"]; command = \"cat {in.a}/x\"; }\n"
			      ");\n",
			      NULL, 0, &wf),
			 "");
	ck_assert_str_eq(wf.name, "w");
	ck_assert_uint_eq(wf.nstages, 2);
	/* A workflow parameter used in a command becomes a stage parameter. */
	ck_assert_uint_eq(wf.stages[0].nparams, 1);
	ck_assert_str_eq(wf.stages[0].params[0].name, "lr");
	ck_assert_double_eq(wf.stages[0].params[0].v.f, 0.1);
	b = &wf.stages[1];
	ck_assert_uint_eq(b->ninputs, 1);
	ck_assert_uint_eq(b->input_idx[0], 0);
	ck_assert_uint_eq(b->nparams, 2);
	ck_assert_str_eq(b->params[0].name, "n");
	ck_assert_int_eq(b->params[0].v.type, SUL_T_INT);
	/* A whole-string reference keeps the referenced value's type. */
	ck_assert_str_eq(b->params[1].name, "s");
	ck_assert_int_eq(b->params[1].v.type, SUL_T_FLOAT);
	ck_assert_uint_eq(b->nfiles, 1);
	ck_assert_str_eq(b->files[0], "data");
	ck_assert_uint_eq(b->params[0].line, 5);
	sul_workflow_release(&wf);
}
END_TEST

START_TEST(foreach_expands_with_inputs)
{
	struct sul_workflow wf;

	ck_assert_str_eq(load("name = \"w\";\n"
			      "stages = (\n"
			      "  { id = \"train_{net}\"; kind = \"command\"; foreach = { net = [\"gap\", \"fc\"]; };\n"
			      "    params = { net = \"{net}\"; }; command = \"echo {net} > {out}/n\"; },\n"
			      "  { id = \"cam_{net}_{m}\"; kind = \"command\"; foreach = { net = [\"gap\", \"fc\"]; m = [1, 2]; };\n"
			      "    inputs = [\"train_{net}\"]; params = { m = \"{m}\"; }; command = \"cat {in.train_{net}}/n\"; },\n"
			      "  { id = \"rank\"; kind = \"command\"; inputs = [\"train_*\"]; command = \"true\"; },\n"
			      "  { id = \"x\"; kind = \"command\"; foreach = { v = [7]; }; command = \"true\"; }\n"
			      ");\n",
			      NULL, 0, &wf),
			 "");
	ck_assert_uint_eq(wf.nstages, 8);
	ck_assert_str_eq(wf.stages[0].id, "train_gap");
	ck_assert_str_eq(wf.stages[1].id, "train_fc");
	ck_assert_str_eq(wf.stages[2].id, "cam_gap_1");
	ck_assert_str_eq(wf.stages[3].id, "cam_gap_2");
	ck_assert_str_eq(wf.stages[4].id, "cam_fc_1");
	ck_assert_str_eq(wf.stages[4].inputs[0], "train_fc");
	ck_assert_int_eq(wf.stages[4].params[0].v.type, SUL_T_INT);
	ck_assert_str_eq(wf.stages[4].keys[0].v.s, "cat {in.train_fc}/n");
	ck_assert_uint_eq(wf.stages[6].ninputs, 2);
	ck_assert_str_eq(wf.stages[6].inputs[0], "train_gap");
	/* A loop variable missing from the id is appended. */
	ck_assert_str_eq(wf.stages[7].id, "x_7");
	sul_workflow_release(&wf);
}
END_TEST

START_TEST(overrides_apply_and_are_typed)
{
	static const char *const sets[] = { "a.n=5", "params.lr=0.5", "b*.s=hello" };
	struct sul_workflow wf;

	ck_assert_str_eq(load("name = \"w\"; params = { lr = 0.1; };\n"
			      "stages = ( { id = \"a\"; kind = \"command\"; params = { n = 1; }; command = \"echo {params.n} {params.lr}\"; },\n"
			      "           { id = \"b1\"; kind = \"command\"; command = \"echo {params.s}\"; params = { s = \"x\"; }; } );\n",
			      sets, 3, &wf),
			 "");
	ck_assert_str_eq(wf.stages[0].params[1].name, "n");
	ck_assert_int_eq(wf.stages[0].params[1].v.type, SUL_T_INT);
	ck_assert_int_eq(wf.stages[0].params[1].v.i, 5);
	ck_assert_double_eq(wf.stages[0].params[0].v.f, 0.5);
	ck_assert_str_eq(wf.stages[1].params[0].v.s, "hello");
	ck_assert_uint_eq(wf.noverrides, 3);
	sul_workflow_release(&wf);
}
END_TEST

START_TEST(include_is_relative_to_the_workflow)
{
	struct sul_workflow wf;

	tu_write(dir, "shared.cfg", "params = { size = 64; };\n");
	ck_assert_str_eq(load("name = \"w\";\n@include \"shared.cfg\"\n"
			      "stages = ( { id = \"a\"; kind = \"command\"; command = \"echo {params.size}\"; } );\n",
			      NULL, 0, &wf),
			 "");
	ck_assert_int_eq(wf.stages[0].params[0].v.i, 64);
	sul_workflow_release(&wf);
}
END_TEST

#define STAGE(rest) "{ id = \"a\"; kind = \"command\"; " rest " }"

START_TEST(syntax_error_names_file_and_line)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n  { id = ; kind = \"command\"; }\n);\n", NULL, 0),
			 "w.cfg:3: syntax error");
}
END_TEST

START_TEST(unknown_kind_suggests)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a\"; kind = \"comand\"; } );\n", NULL, 0),
			 "w.cfg:2: stage 'a': unknown kind 'comand' (did you mean 'command'?) (`sulcus kinds` lists them)");
}
END_TEST

START_TEST(unknown_key_suggests)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a\"; kind = \"command\";\n inptus = [\"b\"]; command = \"true\"; } );\n", NULL, 0),
			 "w.cfg:3: stage 'a': unknown key 'inptus' for kind 'command' (did you mean 'inputs'?)");
	ck_assert_str_eq(load_fail("name = \"w\";\nstagse = ();\n", NULL, 0),
			 "w.cfg:2: unknown top-level key 'stagse' (expected name, params, stages, executor, resources) (did you mean 'stages'?)");
}
END_TEST

START_TEST(wrong_types)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = 3; kind = \"command\"; } );\n", NULL, 0),
			 "w.cfg:2: 'id': expected a string, got an integer");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("inputs = \"b\"; command = \"x\";") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': 'inputs': expected a list of strings [\"...\", ...], got a string");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("command = 5;") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': 'command': expected a string");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("params = { x = [1, 2]; }; command = \"x\";") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': parameter 'x': expected a number, string or boolean, got an array");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a b\"; kind = \"command\"; command = \"x\"; } );\n", NULL, 0),
			 "w.cfg:2: stage id 'a b': expected letters, digits, '_', '-' or '.'");
	ck_assert_str_eq(load_fail("stages = ();\n", NULL, 0), "w.cfg: missing 'name' (name = \"...\";)");
}
END_TEST

START_TEST(missing_required_key)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a\"; kind = \"command\"; } );\n", NULL, 0),
			 "w.cfg:2: stage 'a': missing 'command' (shell command; placeholders {out}, {in.ID}, {params.NAME})");
}
END_TEST

START_TEST(duplicate_ids)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n " STAGE("command = \"x\";") ",\n " STAGE("command = \"y\";") "\n);\n",
				   NULL, 0),
			 "w.cfg:4: duplicate stage id 'a' (first defined at w.cfg:3)");
}
END_TEST

START_TEST(input_names_no_stage)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n { id = \"train\"; kind = \"command\"; command = \"x\"; },\n"
				   " { id = \"b\"; kind = \"command\"; inputs = [\"trian\"]; command = \"x\"; }\n);\n",
				   NULL, 0),
			 "w.cfg:4: stage 'b': input 'trian' names no stage (did you mean 'train'?)");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n " STAGE("inputs = [\"z*\"]; command = \"x\";") "\n);\n", NULL, 0),
			 "w.cfg:3: stage 'a': input 'z*' matches no stage");
}
END_TEST

START_TEST(cycle_names_its_stages)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n"
				   " { id = \"a\"; kind = \"command\"; inputs = [\"c\"]; command = \"x\"; },\n"
				   " { id = \"b\"; kind = \"command\"; inputs = [\"a\"]; command = \"x\"; },\n"
				   " { id = \"c\"; kind = \"command\"; inputs = [\"b\"]; command = \"x\"; },\n"
				   " { id = \"d\"; kind = \"command\"; inputs = [\"a\"]; command = \"x\"; }\n);\n",
				   NULL, 0),
			 "w.cfg:3: cycle in stage inputs: a -> b -> c -> a");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n " STAGE("inputs = [\"a\"]; command = \"x\";") "\n);\n", NULL, 0),
			 "w.cfg:3: cycle in stage inputs: a -> a");
}
END_TEST

START_TEST(placeholder_errors)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = (\n { id = \"b\"; kind = \"command\"; command = \"x\"; },\n"
				   " { id = \"a\"; kind = \"command\";\n   command = \"cat {in.b}\"; }\n);\n",
				   NULL, 0),
			 "w.cfg:5: stage 'a': placeholder '{in.b}': 'b' is not among the stage's inputs");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("command = \"ls {outt}\";") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': unknown placeholder '{outt}' (expected {out}, {in.ID} or {params.NAME}; "
			 "write {{ for a literal brace)");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("command = \"echo {params.nope}\";") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': '{params.nope}': neither the stage nor the workflow has a parameter 'nope'");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("params = { n = \"{params.nope}\"; }; command = \"x\";") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': '{params.nope}': the workflow has no parameter 'nope'");
}
END_TEST

START_TEST(set_errors)
{
	static const char wf[] = "name = \"w\"; params = { lr = 0.1; };\nstages = ( " STAGE("params = { n = 1; }; command = \"x\";") " );\n";
	const char *bad_target[] = { "b.n=2" };
	const char *bad_form[] = { "a.n" };
	const char *bad_global[] = { "params.rl=2" };
	const char *bad_type[] = { "params.lr=fast" };

	ck_assert_str_eq(load_fail(wf, bad_target, 1), "--set 'b.n=2': no stage 'b'");
	ck_assert_str_eq(load_fail(wf, bad_form, 1), "--set 'a.n': expected ID.NAME=VALUE");
	ck_assert_str_eq(load_fail(wf, bad_global, 1),
			 "--set 'params.rl=2': the workflow has no parameter 'rl' (did you mean 'lr'?)");
	ck_assert_str_eq(load_fail(wf, bad_type, 1), "--set 'params.lr=fast': expected a finite decimal number, got 'fast'");
}
END_TEST

START_TEST(foreach_errors)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a_{v}\"; kind = \"command\"; foreach = { v = []; }; command = \"x\"; } );\n", NULL, 0),
			 "w.cfg:2: stage 'a_{v}': foreach 'v': the list is empty");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"a\"; kind = \"command\"; foreach = { v = [1, 1]; }; command = \"x\"; } );\n", NULL, 0),
			 "w.cfg:2: duplicate stage id 'a_1' (first defined at w.cfg:2)");
}
END_TEST

#define PROBE(rest) "name = \"w\";\nstages = ( { id = \"p\"; kind = \"probe\";\n params = { net = \"n.cfg\"; " rest " }; } );\n"

START_TEST(schema_defaults_and_types)
{
	struct sul_workflow wf;
	const struct sul_stage *p;

	ck_assert_str_eq(load(PROBE("lr = 1;"), NULL, 0, &wf), "");
	p = &wf.stages[0];
	ck_assert_uint_eq(p->nparams, 5);
	ck_assert_str_eq(p->params[0].name, "epochs");
	ck_assert_int_eq(p->params[0].v.i, 10);
	/* An integer given for a float parameter becomes a float. */
	ck_assert_int_eq(p->params[1].v.type, SUL_T_FLOAT);
	ck_assert_double_eq(p->params[1].v.f, 1.0);
	ck_assert_str_eq(p->params[2].v.s, "gradcam");
	ck_assert_int_eq(p->params[3].v.type, SUL_T_PATH);
	ck_assert_int_eq(p->params[4].v.type, SUL_T_BOOL);
	sul_workflow_release(&wf);
}
END_TEST

START_TEST(schema_errors)
{
	const char *epochs_str[] = { "p.epochs=many" };
	const char *bad_name[] = { "p.epoch=3" };

	ck_assert_str_eq(load_fail(PROBE("epoch = 3;"), NULL, 0),
			 "w.cfg:3: stage 'p': unknown parameter 'epoch' for kind 'probe' (did you mean 'epochs'?)");
	ck_assert_str_eq(load_fail(PROBE("epochs = 2.5;"), NULL, 0),
			 "w.cfg:3: stage 'p': parameter 'epochs': expected an integer, got '2.5'");
	ck_assert_str_eq(load_fail(PROBE("epochs = 0;"), NULL, 0),
			 "w.cfg:3: stage 'p': parameter 'epochs': expected an integer from 1 to 1000, got '0'");
	ck_assert_str_eq(load_fail(PROBE("method = \"gradcam++\";"), NULL, 0),
			 "w.cfg:3: stage 'p': parameter 'method': expected one of cam|gradcam|gradcampp, got 'gradcam++'");
	ck_assert_str_eq(load_fail(PROBE("verbose = 1;"), NULL, 0),
			 "w.cfg:3: stage 'p': parameter 'verbose': expected true or false, got '1'");
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( { id = \"p\"; kind = \"probe\"; } );\n", NULL, 0),
			 "w.cfg:2: stage 'p': missing parameter 'net' (network cfg)");
	ck_assert_str_eq(load_fail(PROBE(""), epochs_str, 1),
			 "--set 'p.epochs=many': expected an integer, got 'many'");
	ck_assert_str_eq(load_fail(PROBE(""), bad_name, 1),
			 "--set 'p.epoch=3': stage 'p' (kind 'probe') has no parameter 'epoch' (did you mean 'epochs'?)");
}
END_TEST

START_TEST(resources_merge_and_validate)
{
	struct sul_workflow wf;
	const struct sul_resources *a, *b;

	ck_assert_str_eq(load("name = \"w\"; executor = \"slurm\";\n"
			      "resources = { cpus = 2; mem = \"4G\"; time = 30; partition = \"cpu\"; };\n"
			      "stages = ( " STAGE("command = \"x\";") ",\n"
			      "  { id = \"b\"; kind = \"command\"; command = \"y\";\n"
			      "    resources = { gpus = 1; partition = \"gpu\"; time = \"1-00:00:00\"; sbatch = [\"--qos=high\"]; }; } );\n",
			      NULL, 0, &wf),
			 "");
	ck_assert_str_eq(wf.executor, "slurm");
	a = &wf.stages[0].resources;
	b = &wf.stages[1].resources;
	ck_assert_int_eq(a->cpus, 2);
	ck_assert_str_eq(a->mem, "4G");
	ck_assert_str_eq(a->time, "30");
	ck_assert_int_eq(b->cpus, 2);
	ck_assert_int_eq(b->gpus, 1);
	ck_assert_str_eq(b->partition, "gpu");
	ck_assert_str_eq(b->time, "1-00:00:00");
	ck_assert_uint_eq(b->nsbatch, 1);
	sul_workflow_release(&wf);
}
END_TEST

START_TEST(resources_errors)
{
	ck_assert_str_eq(load_fail("name = \"w\";\nstages = ( " STAGE("command = \"x\"; resources = { cpu = 2; };") " );\n", NULL, 0),
			 "w.cfg:2: stage 'a': unknown resource 'cpu' (expected cpus, mem, time, gpus, partition, account, "
			 "sbatch) (did you mean 'cpus'?)");
	ck_assert_str_eq(load_fail("name = \"w\";\nresources = { mem = \"lots\"; };\nstages = ();\n", NULL, 0),
			 "w.cfg:2: resource 'mem': expected a memory size such as 4G, 500M or 1024 (megabytes), got 'lots'");
	ck_assert_str_eq(load_fail("name = \"w\";\nresources = { time = \"1:2:3:4\"; };\nstages = ();\n", NULL, 0),
			 "w.cfg:2: resource 'time': expected a time limit such as 90 (minutes), 01:30:00 or 1-00:00:00, "
			 "got '1:2:3:4'");
	ck_assert_str_eq(load_fail("name = \"w\";\nresources = { cpus = 0; };\nstages = ();\n", NULL, 0),
			 "w.cfg:2: resource 'cpus': expected an integer from 1 to 4096");
	ck_assert_str_eq(load_fail("name = \"w\";\nexecutor = \"pbs\";\nstages = ();\n", NULL, 0),
			 "w.cfg:2: 'executor': expected \"local\" or \"slurm\"");
	ck_assert_str_eq(load_fail("name = \"w\";\nresources = { sbatch = [\"qos=high\"]; };\nstages = ();\n", NULL, 0),
			 "w.cfg:2: resource 'sbatch': expected options starting with '-'");
}
END_TEST

/* The schema module alone: what a kind gets from NAME=VALUE texts, and
 * what it refuses (the probe kind of check_kinds.c). */
START_TEST(schema_applies_types_ranges_and_defaults)
{
	const struct sul_kind *probe = sul_kind_find("probe");
	const char *good[] = { "net=a.cfg", "epochs=20", "lr=1" };
	const char *bad_range[] = { "net=a.cfg", "epochs=0" };
	const char *bad_choice[] = { "net=a.cfg", "method=gradcam+" };
	const char *unknown[] = { "net=a.cfg", "epoch=3" };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_param *p;
	size_t n;

	ck_assert_ptr_nonnull(probe);
	ck_assert_int_eq(sul_schema_params(probe, good, 3, &p, &n, &err), 0);
	ck_assert_uint_eq(n, 5);  /* sorted, the rest defaulted */
	ck_assert_str_eq(p[0].name, "epochs");
	ck_assert_int_eq(p[0].v.i, 20);
	ck_assert_str_eq(p[1].name, "lr");
	ck_assert_int_eq(p[1].v.type, SUL_T_FLOAT);  /* an integer where a float is asked */
	ck_assert_double_eq(p[1].v.f, 1.0);
	ck_assert_str_eq(p[2].name, "method");
	ck_assert_str_eq(p[2].v.s, "gradcam");
	ck_assert_int_eq(p[3].v.type, SUL_T_PATH);
	ck_assert_str_eq(p[4].name, "verbose");
	ck_assert_int_eq(p[4].v.type, SUL_T_BOOL);
	sul_params_free(p, n);
	ck_assert_int_eq(sul_schema_params(probe, bad_range, 2, &p, &n, &err), -1);
	ck_assert_str_eq(err.msg, "parameter 'epochs': expected an integer from 1 to 1000, got '0'");
	ck_assert_int_eq(sul_schema_params(probe, bad_choice, 2, &p, &n, &err), -1);
	ck_assert_str_eq(err.msg, "parameter 'method': expected one of cam|gradcam|gradcampp, got 'gradcam+'");
	ck_assert_int_eq(sul_schema_params(probe, unknown, 2, &p, &n, &err), -1);
	ck_assert_str_eq(err.msg, "kind 'probe' has no parameter 'epoch'");
	ck_assert_int_eq(sul_schema_params(probe, NULL, 0, &p, &n, &err), -1);
	ck_assert_str_eq(err.msg, "missing parameter 'net' (network cfg)");
	ck_assert_ptr_null(p);
}
END_TEST

SUL_SUITE(workflow)
{
	Suite *s = suite_create("workflow");
	TCase *tc = tcase_create("parse");
	TCase *bad = tcase_create("validation");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parses_stages_and_params);
	tcase_add_test(tc, foreach_expands_with_inputs);
	tcase_add_test(tc, overrides_apply_and_are_typed);
	tcase_add_test(tc, include_is_relative_to_the_workflow);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, syntax_error_names_file_and_line);
	tcase_add_test(bad, unknown_kind_suggests);
	tcase_add_test(bad, unknown_key_suggests);
	tcase_add_test(bad, wrong_types);
	tcase_add_test(bad, missing_required_key);
	tcase_add_test(bad, duplicate_ids);
	tcase_add_test(bad, input_names_no_stage);
	tcase_add_test(bad, cycle_names_its_stages);
	tcase_add_test(bad, schema_applies_types_ranges_and_defaults);
	tcase_add_test(bad, placeholder_errors);
	tcase_add_test(bad, set_errors);
	tcase_add_test(bad, foreach_errors);
	tcase_add_test(tc, schema_defaults_and_types);
	tcase_add_test(bad, schema_errors);
	tcase_add_test(tc, resources_merge_and_validate);
	tcase_add_test(bad, resources_errors);
	suite_add_tcase(s, bad);
	return s;
}
