// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing of the dcache table line. Pure functions: no device is opened
 * here, so a refusal changes nothing and tests need no disk.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <linux/export.h>
#include <linux/module.h>

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

int dcache_parse_sequential_cutoff(const char *arg, unsigned int *bytes)
{
	unsigned int v;

	if (kstrtouint(arg, 10, &v) || v > DCACHE_MAX_SEQUENTIAL_CUTOFF)
		return -EINVAL;
	*bytes = v;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(dcache_parse_sequential_cutoff);

static int dcache_parse_features(unsigned int argc, char **argv,
				 struct dcache_table *table, char **error)
{
	unsigned int nr, i;
	bool mode_seen = false;

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

		if (!strcmp(argv[i], "max_age_ms")) {
			if (i == nr) {
				*error = "max_age_ms needs a value";
				return -EINVAL;
			}
			if (table->max_age_ms) {
				*error = "max_age_ms given more than once";
				return -EINVAL;
			}
			if (dcache_parse_max_age(argv[++i], &table->max_age_ms)) {
				*error = "Invalid max_age_ms: must be 1 to 3600000";
				return -EINVAL;
			}
			continue;
		}
		if (!strcmp(argv[i], "sequential_cutoff")) {
			if (i == nr) {
				*error = "sequential_cutoff needs a value";
				return -EINVAL;
			}
			if (table->cutoff_set) {
				*error = "sequential_cutoff given more than once";
				return -EINVAL;
			}
			if (dcache_parse_sequential_cutoff(argv[++i], &table->sequential_cutoff)) {
				*error = "Invalid sequential_cutoff: must be 0 to 1073741824";
				return -EINVAL;
			}
			table->cutoff_set = true;
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
