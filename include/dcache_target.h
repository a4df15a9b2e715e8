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
#include "dcache_table.h"

/* Blocks per write-back pass of a device: 1 MiB of 4 KiB blocks. */
#define DCACHE_WB_BLOCKS 256

struct dcache_wb;

/* One block of a write-back pass: the copy that goes to the disk. */
struct wb_block {
	struct dcache_block *b;
	struct dcache_wb *wb;
	struct page *page;
	u32 dirty_gen;
	int error;
};

/* A device's write-back state; flush.c. */
struct dcache_wb {
	struct workqueue_struct *wq;	/* the device's stage jobs */
	struct work_struct work;
	struct completion done;		/* the stage job ended */
	u64 epoch;			/* stage being written */
	int error;			/* of the last stage job */
	bool failed;			/* this round: later stages skip us */
	bool listed;			/* on the flusher's device list */
	unsigned int bios;		/* of the last stage job (trace) */
	u64 *addrs;
	struct wb_block *blocks;
	mempool_t *pages;
	atomic_t pending;		/* bios in flight, plus one */
	struct completion bios_done;
};

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
	struct dcache_wb wb;
	struct list_head devs;		/* on the flusher's device list */
	unsigned int block_size;
	unsigned int block_shift;	/* log2 of sectors per block */
	enum dcache_mode mode;		/* READ_ONCE: a message may change it */
	unsigned int max_age_ms;	/* ordered: the disk lags at most this */
	atomic64_t durable_epoch;	/* every epoch up to it is on disk */
	atomic_t error;			/* last write-back error, 0 if fine */
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
enum dcache_mode dcache_default_mode(void);
bool dcache_debug_check(void);
u64 dcache_pool_mb_max(void);

/* stats.c */
int dcache_stats_init(struct dcache *c);
void dcache_stats_exit(void);
u64 dcache_flusher_durable_epoch(void);

int dcache_map_bio(struct dcache_dev *dd, struct bio *bio);

int dcache_flusher_start(struct dcache *c);
void dcache_flusher_stop(struct dcache *c);
void dcache_flusher_add(struct dcache_dev *dd);
void dcache_flusher_remove(struct dcache_dev *dd);
int dcache_flush_dev_init(struct dcache_dev *dd);
void dcache_flush_dev_exit(struct dcache_dev *dd);
int dcache_flush_dev(struct dcache_dev *dd);
int dcache_wait_stage(struct dcache_dev *dd, u64 addr);
void dcache_flusher_kick_within(unsigned int ms);
int dcache_write_block_sync(struct dcache_dev *dd, struct dcache_block *b,
			    blk_opf_t extra);

#endif
