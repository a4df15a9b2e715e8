/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table line of the dcache target:
 *   <backing_dev> <block_size> [<#feature_args> <feature_arg>...]
 * Parsed without side effects so that KUnit can test every refusal.
 */
#ifndef DCACHE_TABLE_H
#define DCACHE_TABLE_H

#include <linux/types.h>
#include <linux/sizes.h>

#include "dcache_admit.h"

#define DCACHE_MIN_BLOCK_SIZE	512U
#define DCACHE_MAX_FEATURES	12U

enum dcache_mode {
	DCACHE_MODE_WRITEBACK,
	DCACHE_MODE_WRITETHROUGH,
	DCACHE_MODE_ORDERED,
};

#define DCACHE_MAX_AGE_MS	3600000U
/* Reads of a stream this long go to the disk when uncached (0: never). */
#define DCACHE_SEQUENTIAL_CUTOFF	SZ_4M
#define DCACHE_MAX_SEQUENTIAL_CUTOFF	SZ_1G
/* Bytes loaded ahead of a read stream below the cut-off (0: none). */
#define DCACHE_READAHEAD	SZ_128K
#define DCACHE_MAX_READAHEAD	SZ_4M

struct dcache_table {
	const char *backing_path;	/* points into the caller's argv */
	unsigned int block_size;	/* bytes, power of two */
	enum dcache_mode mode;		/* writeback unless given */
	bool mode_set;			/* the line named a mode */
	unsigned int max_age_ms;	/* 0: not given */
	bool max_age_set;		/* the line gave max_age_ms */
	unsigned int sequential_cutoff;	/* bytes; the default unless given */
	bool cutoff_set;		/* the line gave sequential_cutoff */
	unsigned int readahead;		/* bytes; the default unless given */
	bool readahead_set;		/* the line gave readahead */
	unsigned int read_admit;	/* 1 or 2; the default unless given */
	bool read_admit_set;		/* the line gave read_admit */
	const char *group;		/* consistency group name, or NULL */
};

int dcache_parse_table(unsigned int argc, char **argv,
		       struct dcache_table *table, char **error);
const char *dcache_mode_name(enum dcache_mode mode);
int dcache_parse_mode(const char *arg, enum dcache_mode *mode);
int dcache_parse_max_age(const char *arg, unsigned int *ms);
int dcache_parse_sequential_cutoff(const char *arg, unsigned int *bytes);
int dcache_parse_readahead(const char *arg, unsigned int *bytes);
int dcache_parse_read_admit(const char *arg, unsigned int *misses);
int dcache_parse_number_feature(const char *name, const char *arg,
				unsigned int *v, char **error);
bool dcache_valid_group_name(const char *name);

#endif
