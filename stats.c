// SPDX-License-Identifier: GPL-2.0
/*
 * Module-wide statistics in sysfs, one read-only value per file under
 * /sys/kernel/dm_dcache/. Counters are read without the cache mutex (they
 * are atomics); block counts take it for a consistent snapshot.
 *
 * Locking: the files exist only while dcache_shared is set up (created
 * after the cache, removed before it goes).
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "dcache_target.h"

static struct kobject *stats_kobj;
static struct dcache *stats_cache;

#define STAT_COUNTER(name, field)					\
static ssize_t name##_show(struct kobject *kobj, struct kobj_attribute *attr, \
			   char *buf)					\
{									\
	return sysfs_emit(buf, "%lld\n", atomic64_read(&stats_cache->stats.field)); \
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

STAT_COUNTER(hits, hits);
STAT_COUNTER(misses, misses);
STAT_COUNTER(evictions, evictions);
STAT_COUNTER(stalls, stalls);
STAT_COUNTER(rounds, rounds);
STAT_COUNTER(read_errors, read_errors);
STAT_COUNTER(write_errors, write_errors);
STAT_COUNTER(bytes_read, bytes_read);
STAT_COUNTER(bytes_written, bytes_written);

enum block_count { BLOCKS_TOTAL, BLOCKS_FREE, BLOCKS_CLEAN, BLOCKS_DIRTY };

static ssize_t show_blocks(char *buf, enum block_count which)
{
	struct dcache *c = stats_cache;
	u64 v;

	mutex_lock(&c->lock);
	switch (which) {
	case BLOCKS_TOTAL:
		v = c->nr_blocks;
		break;
	case BLOCKS_FREE:
		v = c->nr_free;
		break;
	case BLOCKS_CLEAN:
		v = c->nr_blocks - c->nr_free - c->nr_dirty;
		break;
	default:
		v = c->nr_dirty;
	}
	mutex_unlock(&c->lock);
	return sysfs_emit(buf, "%llu\n", v);
}

#define STAT_BLOCKS(name, which)					\
static ssize_t name##_show(struct kobject *kobj, struct kobj_attribute *attr, \
			   char *buf)					\
{									\
	return show_blocks(buf, which);					\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

STAT_BLOCKS(blocks_total, BLOCKS_TOTAL);
STAT_BLOCKS(blocks_free, BLOCKS_FREE);
STAT_BLOCKS(blocks_clean, BLOCKS_CLEAN);
STAT_BLOCKS(blocks_dirty, BLOCKS_DIRTY);

static ssize_t epoch_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dcache_current_epoch(stats_cache));
}

static struct kobj_attribute epoch_attr = __ATTR_RO(epoch);

static ssize_t durable_epoch_show(struct kobject *kobj, struct kobj_attribute *attr,
				  char *buf)
{
	return sysfs_emit(buf, "%llu\n", dcache_flusher_durable(stats_cache->flusher));
}

static struct kobj_attribute durable_epoch_attr = __ATTR_RO(durable_epoch);

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
	&read_errors_attr.attr,
	&write_errors_attr.attr,
	&bytes_read_attr.attr,
	&bytes_written_attr.attr,
	&epoch_attr.attr,
	&durable_epoch_attr.attr,
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
