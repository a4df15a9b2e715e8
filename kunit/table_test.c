// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the dcache table line, valid and invalid.
 */
#include <kunit/test.h>

#include "dcache_table.h"

struct table_case {
	const char *name;
	const char *line;	/* arguments after "dcache", space separated */
	int ret;
	const char *error;	/* expected ti->error text when ret != 0 */
	unsigned int block_size;
	enum dcache_mode mode;
	unsigned int max_age_ms;
	bool cutoff_set;
	unsigned int cutoff;
	const char *group;
	bool ahead_set;
	unsigned int ahead;
	unsigned int read_admit;	/* 0: the default */
};

static const struct table_case table_cases[] = {
	{ "minimal", "/dev/vdb 4096", 0, NULL, 4096, DCACHE_MODE_WRITEBACK },
	{ "smallest block", "/dev/vdb 512", 0, NULL, 512, DCACHE_MODE_WRITEBACK },
	{ "no features", "/dev/vdb 1024 0", 0, NULL, 1024, DCACHE_MODE_WRITEBACK },
	{ "writeback", "/dev/vdb 4096 1 writeback", 0, NULL, 4096,
	  DCACHE_MODE_WRITEBACK },
	{ "writethrough", "8:16 2048 1 writethrough", 0, NULL, 2048,
	  DCACHE_MODE_WRITETHROUGH },
	{ "ordered", "/dev/vdb 4096 1 ordered", 0, NULL, 4096, DCACHE_MODE_ORDERED },
	{ "ordered with max age", "/dev/vdb 4096 3 ordered max_age_ms 250", 0, NULL,
	  4096, DCACHE_MODE_ORDERED, 250 },
	{ "max age alone", "/dev/vdb 4096 2 max_age_ms 3600000", 0, NULL,
	  4096, DCACHE_MODE_WRITEBACK, 3600000 },
	{ "sequential cutoff", "/dev/vdb 4096 2 sequential_cutoff 1048576", 0, NULL,
	  4096, DCACHE_MODE_WRITEBACK, 0, true, 1048576 },
	{ "no sequential cutoff", "/dev/vdb 4096 3 sequential_cutoff 0 ordered", 0, NULL,
	  4096, DCACHE_MODE_ORDERED, 0, true, 0 },
	{ "largest cutoff", "/dev/vdb 4096 2 sequential_cutoff 1073741824", 0, NULL,
	  4096, DCACHE_MODE_WRITEBACK, 0, true, 1073741824 },
	{ "cutoff without value", "/dev/vdb 4096 1 sequential_cutoff", -EINVAL,
	  "sequential_cutoff needs a value" },
	{ "cutoff too large", "/dev/vdb 4096 2 sequential_cutoff 1073741825", -EINVAL,
	  "Invalid sequential_cutoff: must be 0 to 1073741824" },
	{ "cutoff garbage", "/dev/vdb 4096 2 sequential_cutoff 1M", -EINVAL,
	  "Invalid sequential_cutoff: must be 0 to 1073741824" },
	{ "cutoff twice", "/dev/vdb 4096 4 sequential_cutoff 1 sequential_cutoff 2",
	  -EINVAL, "sequential_cutoff given more than once" },
	{ "group", "/dev/vdb 4096 3 ordered group db.wal-1_x", 0, NULL, 4096,
	  DCACHE_MODE_ORDERED, 0, false, 0, "db.wal-1_x" },
	{ "readahead", "/dev/vdb 4096 2 readahead 262144", 0, NULL, 4096,
	  DCACHE_MODE_WRITEBACK, .ahead_set = true, .ahead = 262144 },
	{ "no readahead", "/dev/vdb 4096 2 readahead 0", 0, NULL, 4096,
	  DCACHE_MODE_WRITEBACK, .ahead_set = true, .ahead = 0 },
	{ "every feature",
	  "/dev/vdb 4096 9 ordered max_age_ms 5 sequential_cutoff 0 readahead 4194304 group g",
	  0, NULL, 4096, DCACHE_MODE_ORDERED, 5, true, 0, "g", true, 4194304 },
	{ "readahead too large", "/dev/vdb 4096 2 readahead 4194305", -EINVAL,
	  "Invalid readahead: must be 0 to 4194304" },
	{ "readahead garbage", "/dev/vdb 4096 2 readahead 128k", -EINVAL,
	  "Invalid readahead: must be 0 to 4194304" },
	{ "readahead without value", "/dev/vdb 4096 1 readahead", -EINVAL,
	  "readahead needs a value" },
	{ "readahead twice", "/dev/vdb 4096 4 readahead 0 readahead 0", -EINVAL,
	  "readahead given more than once" },
	{ "read admit first", "/dev/vdb 4096 2 read_admit 1", 0, NULL, 4096,
	  DCACHE_MODE_WRITEBACK, 0, false, 0, NULL, false, 0, 1 },
	{ "read admit second, with the rest",
	  "/dev/vdb 4096 11 ordered max_age_ms 5 sequential_cutoff 0 readahead 0 read_admit 2 group g",
	  0, NULL, 4096, DCACHE_MODE_ORDERED, 5, true, 0, "g", true, 0, 2 },
	{ "read admit zero", "/dev/vdb 4096 2 read_admit 0", -EINVAL,
	  "Invalid read_admit: must be 1 or 2" },
	{ "read admit three", "/dev/vdb 4096 2 read_admit 3", -EINVAL,
	  "Invalid read_admit: must be 1 or 2" },
	{ "read admit garbage", "/dev/vdb 4096 2 read_admit second", -EINVAL,
	  "Invalid read_admit: must be 1 or 2" },
	{ "read admit without value", "/dev/vdb 4096 1 read_admit", -EINVAL,
	  "read_admit needs a value" },
	{ "read admit twice", "/dev/vdb 4096 4 read_admit 1 read_admit 1", -EINVAL,
	  "read_admit given more than once" },
	{ "group without name", "/dev/vdb 4096 2 ordered group", -EINVAL,
	  "group needs a name" },
	{ "group twice", "/dev/vdb 4096 4 group a group b", -EINVAL,
	  "group given more than once" },
	{ "group name with a slash", "/dev/vdb 4096 2 group a/b", -EINVAL,
	  "Invalid group name: 1 to 32 letters, digits, '-', '_' or '.'" },
	{ "group name too long", "/dev/vdb 4096 2 group 123456789012345678901234567890123",
	  -EINVAL, "Invalid group name: 1 to 32 letters, digits, '-', '_' or '.'" },
	{ "no arguments", "", -EINVAL, "Missing backing device" },
	{ "max age without value", "/dev/vdb 4096 1 max_age_ms", -EINVAL,
	  "max_age_ms needs a value" },
	{ "max age zero", "/dev/vdb 4096 2 max_age_ms 0", -EINVAL,
	  "Invalid max_age_ms: must be 1 to 3600000" },
	{ "max age too large", "/dev/vdb 4096 2 max_age_ms 3600001", -EINVAL,
	  "Invalid max_age_ms: must be 1 to 3600000" },
	{ "max age garbage", "/dev/vdb 4096 2 max_age_ms 10s", -EINVAL,
	  "Invalid max_age_ms: must be 1 to 3600000" },
	{ "max age twice", "/dev/vdb 4096 4 max_age_ms 1 max_age_ms 2", -EINVAL,
	  "max_age_ms given more than once" },
	{ "missing block size", "/dev/vdb", -EINVAL, "Missing block size" },
	{ "block size 0", "/dev/vdb 0", -EINVAL,
	  "Invalid block size: must be a power of two from 512 to PAGE_SIZE" },
	{ "block size 3000", "/dev/vdb 3000", -EINVAL,
	  "Invalid block size: must be a power of two from 512 to PAGE_SIZE" },
	{ "block size 256", "/dev/vdb 256", -EINVAL,
	  "Invalid block size: must be a power of two from 512 to PAGE_SIZE" },
	{ "block size 1M", "/dev/vdb 1048576", -EINVAL,
	  "Invalid block size: must be a power of two from 512 to PAGE_SIZE" },
	{ "negative block size", "/dev/vdb -4096", -EINVAL,
	  "Invalid block size: not a decimal number" },
	{ "block size garbage", "/dev/vdb 4096x", -EINVAL,
	  "Invalid block size: not a decimal number" },
	{ "block size overflow", "/dev/vdb 99999999999999999999", -EINVAL,
	  "Invalid block size: not a decimal number" },
	{ "trailing word", "/dev/vdb 4096 junk", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "negative feature count", "/dev/vdb 4096 -1 writeback", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "huge feature count", "/dev/vdb 4096 4294967297", -EINVAL,
	  "Invalid number of feature arguments" },
	{ "missing feature", "/dev/vdb 4096 1", -EINVAL,
	  "Missing feature arguments" },
	{ "extra after features", "/dev/vdb 4096 1 writeback junk", -EINVAL,
	  "Unexpected arguments after features" },
	{ "unknown feature", "/dev/vdb 4096 1 writearound", -EINVAL,
	  "Unknown feature" },
	{ "repeated mode", "/dev/vdb 4096 2 writeback writeback", -EINVAL,
	  "Mode given more than once" },
	{ "two modes", "/dev/vdb 4096 2 writeback writethrough", -EINVAL,
	  "Mode given more than once" },
};

#define MAX_TEST_ARGS 16

static void check_table_case(struct kunit *test, const struct table_case *c)
{
	char *buf, *cursor, *arg;
	char *argv[MAX_TEST_ARGS];
	unsigned int argc = 0;
	struct dcache_table table;
	char *error = NULL;
	int ret;

	buf = kunit_kzalloc(test, strlen(c->line) + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	strcpy(buf, c->line);
	cursor = buf;
	while ((arg = strsep(&cursor, " ")) != NULL) {
		if (!*arg)
			continue;
		KUNIT_ASSERT_LT(test, argc, MAX_TEST_ARGS);
		argv[argc++] = arg;
	}

	ret = dcache_parse_table(argc, argv, &table, &error);
	KUNIT_EXPECT_EQ_MSG(test, ret, c->ret, "case '%s'", c->name);
	if (c->ret) {
		KUNIT_ASSERT_NOT_NULL_MSG(test, error, "case '%s'", c->name);
		KUNIT_EXPECT_STREQ_MSG(test, error, c->error, "case '%s'", c->name);
		return;
	}
	KUNIT_EXPECT_PTR_EQ_MSG(test, error, NULL, "case '%s'", c->name);
	KUNIT_EXPECT_PTR_EQ_MSG(test, table.backing_path, (const char *)argv[0],
				"case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.block_size, c->block_size, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.mode, c->mode, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.max_age_ms, c->max_age_ms, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.cutoff_set, c->cutoff_set, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.sequential_cutoff,
			    c->cutoff_set ? c->cutoff : DCACHE_SEQUENTIAL_CUTOFF,
			    "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.readahead_set, c->ahead_set, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.readahead, c->ahead_set ? c->ahead : DCACHE_READAHEAD,
			    "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.read_admit_set, c->read_admit != 0, "case '%s'", c->name);
	KUNIT_EXPECT_EQ_MSG(test, table.read_admit,
			    c->read_admit ? c->read_admit : DCACHE_READ_ADMIT,
			    "case '%s'", c->name);
	if (c->group)
		KUNIT_EXPECT_STREQ_MSG(test, table.group, c->group, "case '%s'", c->name);
	else
		KUNIT_EXPECT_PTR_EQ_MSG(test, table.group, NULL, "case '%s'", c->name);
}

/*
 * One case walks the whole table: 6.1's debugfs log of parameterised cases
 * is not valid KTAP for kunit.py, so the cases are not KUnit parameters.
 */
static void dcache_table_valid_test(struct kunit *test)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(table_cases); i++)
		if (!table_cases[i].ret)
			check_table_case(test, &table_cases[i]);
}

static void dcache_table_invalid_test(struct kunit *test)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(table_cases); i++)
		if (table_cases[i].ret)
			check_table_case(test, &table_cases[i]);
}

static void dcache_table_mode_name_test(struct kunit *test)
{
	KUNIT_EXPECT_STREQ(test, dcache_mode_name(DCACHE_MODE_WRITEBACK), "writeback");
	KUNIT_EXPECT_STREQ(test, dcache_mode_name(DCACHE_MODE_WRITETHROUGH),
			   "writethrough");
	KUNIT_EXPECT_STREQ(test, dcache_mode_name(DCACHE_MODE_ORDERED), "ordered");
	KUNIT_EXPECT_STREQ(test, dcache_mode_name(100), "unknown");
}

/* Messages parse a numbered feature's value as the table line does. */
static void dcache_table_number_message_test(struct kunit *test)
{
	unsigned int v = 7;
	char *error = NULL;

	KUNIT_EXPECT_EQ(test, dcache_parse_number_feature("max_age_ms", "250", &v, &error), 0);
	KUNIT_EXPECT_EQ(test, v, 250);
	KUNIT_EXPECT_EQ(test, dcache_parse_number_feature("SEQUENTIAL_CUTOFF", "0", &v, &error),
			0);
	KUNIT_EXPECT_EQ(test, v, 0);
	KUNIT_EXPECT_EQ(test, dcache_parse_number_feature("max_age_ms", "0", &v, &error),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, error, "Invalid max_age_ms: must be 1 to 3600000");
	KUNIT_EXPECT_EQ(test, dcache_parse_number_feature("sequential_cutoff", "1k", &v, &error),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, error, "Invalid sequential_cutoff: must be 0 to 1073741824");
	KUNIT_EXPECT_EQ(test, v, 0);
	KUNIT_EXPECT_EQ(test, dcache_parse_number_feature("mode", "1", &v, &error), -ENOENT);
}

static struct kunit_case dcache_table_test_cases[] = {
	KUNIT_CASE(dcache_table_valid_test),
	KUNIT_CASE(dcache_table_invalid_test),
	KUNIT_CASE(dcache_table_mode_name_test),
	KUNIT_CASE(dcache_table_number_message_test),
	{}
};

static struct kunit_suite dcache_table_test_suite = {
	.name = "dcache_table",
	.test_cases = dcache_table_test_cases,
};

kunit_test_suites(&dcache_table_test_suite);
