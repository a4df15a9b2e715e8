// SPDX-License-Identifier: GPL-2.0
/*
 * Module-wide statistics in sysfs, one read-only value per file under
 * /sys/kernel/dm_dcache/, each read from a snapshot of the cache's counts
 * (dcache_counts: the block counts are consistent with each other).
 *
 * Locking: the files exist only while dcache_shared is set up (created
 * after the cache, removed before it goes).
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "dcache_target.h"

static struct kobject *stats_kobj;
static struct dcache *stats_cache;

/* The file @name shows @field of a fresh struct dcache_counts snapshot. */
#define STAT(name, field)						\
static ssize_t name##_show(struct kobject *kobj, struct kobj_attribute *attr, \
			   char *buf)					\
{									\
	struct dcache_counts counts;					\
									\
	dcache_counts(stats_cache, &counts);				\
	return sysfs_emit(buf, "%llu\n", counts.field);			\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

STAT(blocks_total, blocks_total);
STAT(blocks_free, blocks_free);
STAT(blocks_clean, blocks_clean);
STAT(blocks_dirty, blocks_dirty);
STAT(hits, hits);
STAT(misses, misses);
STAT(evictions, evictions);
STAT(stalls, stalls);
STAT(rounds, rounds);
STAT(cow_copies, cow_copies);
STAT(cow_waits, cow_waits);
STAT(blocks_kept, blocks_kept);
STAT(read_errors, read_errors);
STAT(write_errors, write_errors);
STAT(bytes_read, bytes_read);
STAT(bytes_written, bytes_written);

static struct attribute *stats_attrs[] = {
	&blocks_total_attr.attr,
	&blocks_free_attr.attr,
	&blocks_clean_attr.attr,
	&blocks_dirty_attr.attr,
	&hits_attr.attr,
	&misses_attr.attr,
	&evictions_attr.attr,
	&stalls_attr.attr,
	&rounds_attr.attr,
	&cow_copies_attr.attr,
	&cow_waits_attr.attr,
	&blocks_kept_attr.attr,
	&read_errors_attr.attr,
	&write_errors_attr.attr,
	&bytes_read_attr.attr,
	&bytes_written_attr.attr,
	NULL
};

static const struct attribute_group stats_group = {
	.attrs = stats_attrs,
};

int dcache_stats_init(struct dcache *c)
{
	int r;

	stats_cache = c;
	stats_kobj = kobject_create_and_add("dm_dcache", kernel_kobj);
	if (!stats_kobj)
		return -ENOMEM;
	r = sysfs_create_group(stats_kobj, &stats_group);
	if (r) {
		kobject_put(stats_kobj);
		stats_kobj = NULL;
	}
	return r;
}

void dcache_stats_exit(void)
{
	if (!stats_kobj)
		return;
	sysfs_remove_group(stats_kobj, &stats_group);
	kobject_put(stats_kobj);
	stats_kobj = NULL;
}
