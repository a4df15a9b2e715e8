/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One dcache device (a dm target instance) and what its files share:
 * dcache_mod.c (table, status, messages, lifecycle), io.c (the bio paths)
 * and flush.c (write-back and the flush thread).
 */
#ifndef DCACHE_TARGET_H
#define DCACHE_TARGET_H

#include <linux/device-mapper.h>
#include <linux/workqueue.h>
#include <linux/atomic.h>
#include <linux/mempool.h>
#include <linux/completion.h>

#include "dcache.h"
#include "dcache_flush.h"
#include "dcache_table.h"

struct dcache_dev_stats {
	atomic64_t reads;
	atomic64_t read_hits;
	atomic64_t writes;
	atomic64_t write_hits;
	atomic64_t flushes;
};

struct dcache_dev {
	struct dm_target *ti;
	struct dm_dev *backing;
	struct dcache_part *part;
	struct workqueue_struct *wq;	/* bios that wait: misses, flushes */
	struct dcache_writer *wr;	/* its write-back (flush.c) */
	unsigned int block_size;
	unsigned int block_shift;	/* log2 of sectors per block */
	enum dcache_mode mode;		/* READ_ONCE: a message may change it */
	unsigned int max_age_ms;	/* ordered: the disk lags at most this */
	struct dcache_dev_stats stats;
};

/* Per-bio data. */
struct dcache_io {
	struct work_struct work;
	struct dcache_dev *dd;
};

extern struct dcache *dcache_shared;

/* params.c */
extern unsigned int dcache_pool_mb;
extern unsigned int dcache_dirty_percent;
extern unsigned int dcache_flush_delay_ms;
extern unsigned int dcache_device_dirty_percent;
enum dcache_mode dcache_default_mode(void);
bool dcache_debug_check(void);
u64 dcache_pool_mb_max(void);

/* stats.c */
int dcache_stats_init(struct dcache *c);
void dcache_stats_exit(void);

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio);

#endif
