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

#include "dcache.h"
#include "dcache_table.h"

struct wb_write;

struct dcache_dev_stats {
	atomic64_t reads;
	atomic64_t read_hits;
	atomic64_t writes;
	atomic64_t write_hits;
	atomic64_t flushes;
	atomic64_t write_errors;
};

struct dcache_dev {
	struct dm_target *ti;
	struct dm_dev *backing;
	struct dcache_part *part;
	struct workqueue_struct *wq;	/* bios that wait: misses, flushes */
	struct list_head devs;		/* on the flusher's device list */
	unsigned int block_size;
	unsigned int block_shift;	/* log2 of sectors per block */
	enum dcache_mode mode;
	atomic64_t epoch;		/* current flush epoch, from 1 */
	atomic64_t durable_epoch;	/* every epoch up to it is on disk */
	atomic_t error;			/* last write-back error, 0 if fine */
	struct mutex flush_lock;	/* one write-back of this device at a time */
	u64 *wb_addrs;			/* flush.c's batch, under flush_lock */
	struct wb_write *wb_writes;	/* flush.c's batch, under flush_lock */
	struct dcache_dev_stats stats;
};

/* Per-bio data. */
struct dcache_io {
	struct work_struct work;
	struct dcache_dev *dd;
};

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio);

int dcache_flusher_start(struct dcache *c);
void dcache_flusher_stop(struct dcache *c);
void dcache_flusher_add(struct dcache_dev *dd);
void dcache_flusher_remove(struct dcache_dev *dd);
int dcache_flush_dev_init(struct dcache_dev *dd);
void dcache_flush_dev_exit(struct dcache_dev *dd);
int dcache_flush_dev(struct dcache_dev *dd);
int dcache_write_block_sync(struct dcache_dev *dd, struct dcache_block *b,
			    blk_opf_t extra);

#endif
