// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing of the dcache table line. Pure functions: no device is opened
 * here, so a refusal changes nothing and tests need no disk.
 */
#include <linux/kernel.h>
#include <linux/ctype.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <linux/export.h>
#include <linux/module.h>

#include "dcache.h"
#include "dcache_table.h"
#include "dcache_export.h"

static const char * const dcache_mode_names[] = {
	[DCACHE_MODE_WRITEBACK] = "writeback",
	[DCACHE_MODE_WRITETHROUGH] = "writethrough",
	[DCACHE_MODE_ORDERED] = "ordered",
};

const char *dcache_mode_name(enum dcache_mode mode)
{
	if (mode >= ARRAY_SIZE(dcache_mode_names))
		return "unknown";
	return dcache_mode_names[mode];
}
EXPORT_SYMBOL_IF_KUNIT(dcache_mode_name);

int dcache_parse_mode(const char *arg, enum dcache_mode *mode)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dcache_mode_names); i++) {
		if (!strcmp(arg, dcache_mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_mode);

int dcache_parse_max_age(const char *arg, unsigned int *ms)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v) || !v || v > DCACHE_MAX_AGE_MS)
		return -EINVAL;
	*ms = v;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_max_age);

/* A decimal number from 0 to @max into *@v, else -EINVAL and *@v kept. */
static int parse_at_most(const char *arg, unsigned int max, unsigned int *v)
{
	unsigned int n;

	if (kstrtouint(arg, 10, &n) || n > max)
		return -EINVAL;
	*v = n;
	return 0;
}

int dcache_parse_sequential_cutoff(const char *arg, unsigned int *bytes)
{
	return parse_at_most(arg, DCACHE_MAX_SEQUENTIAL_CUTOFF, bytes);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_sequential_cutoff);

int dcache_parse_readahead(const char *arg, unsigned int *bytes)
{
	return parse_at_most(arg, DCACHE_MAX_READAHEAD, bytes);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_readahead);

int dcache_parse_read_admit(const char *arg, unsigned int *misses)
{
	unsigned int v;

	if (parse_at_most(arg, DCACHE_READ_ADMIT_SECOND, &v) || v < DCACHE_READ_ADMIT_FIRST)
		return -EINVAL;
	*misses = v;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_read_admit);

/* The features that take a number: one way to parse and refuse each. */
static const struct number_feature {
	const char *name;
	int (*parse)(const char *arg, unsigned int *v);
	char *needs_value, *repeated, *invalid;
	size_t value, set;	/* where struct dcache_table keeps them */
} number_features[] = {
	{ "max_age_ms", dcache_parse_max_age, "max_age_ms needs a value",
	  "max_age_ms given more than once", "Invalid max_age_ms: must be 1 to 3600000",
	  offsetof(struct dcache_table, max_age_ms),
	  offsetof(struct dcache_table, max_age_set) },
	{ "sequential_cutoff", dcache_parse_sequential_cutoff,
	  "sequential_cutoff needs a value", "sequential_cutoff given more than once",
	  "Invalid sequential_cutoff: must be 0 to 1073741824",
	  offsetof(struct dcache_table, sequential_cutoff),
	  offsetof(struct dcache_table, cutoff_set) },
	{ "readahead", dcache_parse_readahead, "readahead needs a value",
	  "readahead given more than once", "Invalid readahead: must be 0 to 4194304",
	  offsetof(struct dcache_table, readahead),
	  offsetof(struct dcache_table, readahead_set) },
	{ "read_admit", dcache_parse_read_admit, "read_admit needs a value",
	  "read_admit given more than once", "Invalid read_admit: must be 1 or 2",
	  offsetof(struct dcache_table, read_admit),
	  offsetof(struct dcache_table, read_admit_set) },
};

static const struct number_feature *find_number_feature(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(number_features); i++)
		if (!strcasecmp(name, number_features[i].name))
			return &number_features[i];
	return NULL;
}

/*
 * A value for the numbered feature @name (a message's "NAME VALUE"):
 * 0 and *@v, -EINVAL with *@error saying why, or -ENOENT if @name takes
 * no number.
 */
int dcache_parse_number_feature(const char *name, const char *arg,
				unsigned int *v, char **error)
{
	const struct number_feature *f = find_number_feature(name);

	if (!f)
		return -ENOENT;
	if (f->parse(arg, v)) {
		*error = f->invalid;
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_number_feature);

/*
 * The numbered feature at argv[*@i] of @nr, with its value: 0 and *@i
 * moved onto the value, -EINVAL, or 1 if argv[*@i] is not one.
 */
static int parse_number_feature(char **argv, unsigned int *i, unsigned int nr,
				struct dcache_table *table, char **error)
{
	const struct number_feature *f = find_number_feature(argv[*i]);
	bool *set;

	if (!f)
		return 1;
	if (*i == nr) {
		*error = f->needs_value;
		return -EINVAL;
	}
	set = (void *)table + f->set;
	if (*set) {
		*error = f->repeated;
		return -EINVAL;
	}
	if (f->parse(argv[++*i], (void *)table + f->value)) {
		*error = f->invalid;
		return -EINVAL;
	}
	*set = true;
	return 0;
}

/* 1 to DCACHE_GROUP_NAME_MAX letters, digits, '-', '_' or '.'. */
bool dcache_valid_group_name(const char *name)
{
	size_t len = strlen(name), i;

	if (!len || len > DCACHE_GROUP_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_valid_group_name);

/* "group NAME" at argv[*@i] of @nr: 0 and *@i moved onto the name. */
static int parse_group(char **argv, unsigned int *i, unsigned int nr,
		       struct dcache_table *table, char **error)
{
	if (*i == nr) {
		*error = "group needs a name";
		return -EINVAL;
	}
	if (table->group) {
		*error = "group given more than once";
		return -EINVAL;
	}
	if (!dcache_valid_group_name(argv[++*i])) {
		*error = "Invalid group name: 1 to 32 letters, digits, '-', '_' or '.'";
		return -EINVAL;
	}
	table->group = argv[*i];
	return 0;
}

static int dcache_parse_features(unsigned int argc, char **argv,
				 struct dcache_table *table, char **error)
{
	unsigned int nr, i;
	bool mode_seen = false;
	int r;

	if (!argc)
		return 0;
	/* kstrtouint refuses signs, spaces and trailing garbage. */
	if (kstrtouint(argv[0], 10, &nr) || nr > DCACHE_MAX_FEATURES) {
		*error = "Invalid number of feature arguments";
		return -EINVAL;
	}
	if (nr != argc - 1) {
		*error = nr < argc - 1 ? "Unexpected arguments after features" :
					 "Missing feature arguments";
		return -EINVAL;
	}
	for (i = 1; i <= nr; i++) {
		enum dcache_mode mode;

		if (!strcmp(argv[i], "group")) {
			r = parse_group(argv, &i, nr, table, error);
			if (r)
				return r;
			continue;
		}
		r = parse_number_feature(argv, &i, nr, table, error);
		if (r <= 0) {
			if (r)
				return r;
			continue;
		}
		if (dcache_parse_mode(argv[i], &mode)) {
			*error = "Unknown feature";
			return -EINVAL;
		}
		if (mode_seen) {
			*error = "Mode given more than once";
			return -EINVAL;
		}
		mode_seen = true;
		table->mode = mode;
		table->mode_set = true;
	}
	return 0;
}

int dcache_parse_table(unsigned int argc, char **argv,
		       struct dcache_table *table, char **error)
{
	unsigned int bs;

	memset(table, 0, sizeof(*table));
	table->mode = DCACHE_MODE_WRITEBACK;
	table->sequential_cutoff = DCACHE_SEQUENTIAL_CUTOFF;
	table->readahead = DCACHE_READAHEAD;
	table->read_admit = DCACHE_READ_ADMIT;

	if (argc < 2) {
		*error = argc ? "Missing block size" : "Missing backing device";
		return -EINVAL;
	}
	if (!argv[0][0]) {
		*error = "Empty backing device path";
		return -EINVAL;
	}
	table->backing_path = argv[0];

	if (kstrtouint(argv[1], 10, &bs)) {
		*error = "Invalid block size: not a decimal number";
		return -EINVAL;
	}
	if (bs < DCACHE_MIN_BLOCK_SIZE || bs > PAGE_SIZE ||
	    !is_power_of_2(bs)) {
		*error = "Invalid block size: must be a power of two from 512 to PAGE_SIZE";
		return -EINVAL;
	}
	table->block_size = bs;

	return dcache_parse_features(argc - 2, argv + 2, table, error);
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_table);
